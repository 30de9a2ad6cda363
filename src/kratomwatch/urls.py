from django.contrib import admin
from django.urls import include, path

from kratomwatch.api.app import api
from kratomwatch.web import urls as web_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("assessments/", include((web_urls.assessment_patterns, "assessments"))),
    path("consent/", include(web_urls.consent_patterns)),
    path("account/", include("kratomwatch.accounts.urls")),
    path("audit/", include(web_urls.audit_patterns)),
    path("", include("kratomwatch.web.urls")),
]
