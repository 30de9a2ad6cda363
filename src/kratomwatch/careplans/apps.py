from django.apps import AppConfig


class CareplansConfig(AppConfig):
    name = "kratomwatch.careplans"
    label = "careplans"
