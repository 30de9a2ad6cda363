from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "kratomwatch.audit"
    label = "audit"
