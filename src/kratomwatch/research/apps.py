from django.apps import AppConfig


class ResearchConfig(AppConfig):
    name = "kratomwatch.research"
    label = "research"
    verbose_name = "Research"
