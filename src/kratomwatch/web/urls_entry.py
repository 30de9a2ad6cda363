"""URL patterns of web/entry.py, included at the site root by web/urls.py."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
