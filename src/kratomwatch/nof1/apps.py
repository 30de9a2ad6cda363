from django.apps import AppConfig


class Nof1Config(AppConfig):
    name = "kratomwatch.nof1"
    label = "nof1"
    verbose_name = "N-of-1 trials"
