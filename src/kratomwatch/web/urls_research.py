"""URL patterns of web/research.py (the researcher's export), included at the site root by web/urls.py. The
researcher's home is ``/research/`` (web/views.py); an export's job page is the long-job page of web/jobs.py."""

from django.urls import URLPattern, path

from kratomwatch.web import research

urlpatterns: list[URLPattern] = [
    path("research/programs/<int:program_id>/export/", research.export_start, name="research-export"),
]
