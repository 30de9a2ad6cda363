from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kratomwatch.accounts"
    label = "accounts"
