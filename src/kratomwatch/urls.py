from django.contrib import admin
from django.urls import include, path

from kratomwatch import health
from kratomwatch.api.app import api
from kratomwatch.web import urls as web_urls
from kratomwatch.web import views as web_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("assessments/", include((web_urls.assessment_patterns, "assessments"))),
    path("consent/", include(web_urls.consent_patterns)),
    path("account/", include("kratomwatch.accounts.urls")),
    path("audit/", include(web_urls.audit_patterns)),
    path("research/", web_views.researcher_home, name="researcher-home"),
    path("staff/", web_views.staff_home, name="staff-home"),
    path("favicon.ico", web_views.favicon, name="favicon"),
    *[path("healthz", health.healthz, name="healthz"), path("readyz", health.readyz, name="readyz")],
    path("", include("kratomwatch.web.urls")),
]

# Styled error pages that say why and link home (web/errors.py).
handler403 = "kratomwatch.web.errors.page_403"
handler404 = "kratomwatch.web.errors.page_404"
handler500 = "kratomwatch.web.errors.page_500"
