from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "kratomwatch.alerts"
    label = "alerts"
    verbose_name = "Alerts"
