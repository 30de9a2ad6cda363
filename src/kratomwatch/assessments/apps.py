from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "kratomwatch.assessments"
    label = "assessments"
    verbose_name = "Outcome assessments"
