"""URL patterns of web/claims.py (the claim checker), included at the site root by web/urls.py."""

from django.urls import URLPattern, path

from kratomwatch.web import claims

urlpatterns: list[URLPattern] = [
    path("claims/", claims.check_page, name="claims-check"),
]
