from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "kratomwatch.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
