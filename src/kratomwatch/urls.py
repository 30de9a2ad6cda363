from django.contrib import admin
from django.urls import include, path

from kratomwatch.api.app import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("assessments/", include("kratomwatch.assessments.urls")),
    path("consent/", include("kratomwatch.consent.urls")),
    path("account/", include("kratomwatch.accounts.urls")),
    path("audit/", include("kratomwatch.audit.urls")),
    path("", include("kratomwatch.web.urls")),
]
