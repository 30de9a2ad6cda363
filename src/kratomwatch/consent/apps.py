from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "kratomwatch.consent"
    label = "consent"
