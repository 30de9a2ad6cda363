"""URL patterns of web/reminders.py, included at the site root by web/urls.py."""

from django.urls import URLPattern, path

from kratomwatch.web import reminders

urlpatterns: list[URLPattern] = [
    path("me/reminders/", reminders.reminders, name="patient-reminders"),
]
