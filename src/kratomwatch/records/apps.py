from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "kratomwatch.records"
    label = "records"
