from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "kratomwatch.web"
    label = "web"
