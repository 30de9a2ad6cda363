"""URL patterns of web/program_admin.py, included at the site root by web/urls.py."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
