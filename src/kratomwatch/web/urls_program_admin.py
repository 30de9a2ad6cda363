"""URL patterns of web/program_admin.py, included at the site root by web/urls.py."""

from django.urls import URLPattern, path

from kratomwatch.web import program_admin

urlpatterns: list[URLPattern] = [
    path("program/", program_admin.program_home, name="program-home"),
    path("program/products/", program_admin.program_products, name="program-products"),
    path("program/users/", program_admin.program_users, name="program-users"),
    path("program/settings/", program_admin.program_settings_page, name="program-settings"),
]
