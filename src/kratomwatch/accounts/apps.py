from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kratomwatch.accounts"
    label = "accounts"

    def ready(self) -> None:
        from kratomwatch.accounts import signals  # noqa: PLC0415 - models must be loaded before the signals connect

        signals.connect()
