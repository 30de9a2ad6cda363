"""URL patterns of web/alert_queue.py, included at the site root by web/urls.py."""

from django.urls import URLPattern, path

from kratomwatch.web import alert_queue

urlpatterns: list[URLPattern] = [
    path("clinic/alerts/", alert_queue.alert_queue, name="clinic-alerts"),
    path("clinic/alerts/bulk/", alert_queue.alert_bulk_acknowledge, name="clinic-alerts-bulk"),
    path("clinic/alerts/<int:alert_id>/acknowledge/", alert_queue.alert_acknowledge, name="clinic-alert-acknowledge"),
    path("clinic/alerts/<int:alert_id>/resolve/", alert_queue.alert_resolve, name="clinic-alert-resolve"),
]
