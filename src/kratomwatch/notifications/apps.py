from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "kratomwatch.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # The alerts app announces new urgent alerts with a signal (alerts sit below notifications in the
        # layers); connecting here, once the app registry is ready, keeps the import direction downward.
        from kratomwatch.alerts.actions import urgent_alerts_raised  # noqa: PLC0415
        from kratomwatch.notifications.actions import on_urgent_alerts  # noqa: PLC0415

        urgent_alerts_raised.connect(on_urgent_alerts, dispatch_uid="kratomwatch.notifications.urgent")
