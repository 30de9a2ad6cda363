"""URL patterns of web/research.py (the researcher's export) and web/research_cohorts.py (cohorts and their
analyses) and web/surveillance.py (signals in public adverse-event reports), included at the site root by
web/urls.py. The researcher's home is ``/research/`` (web/views.py); an
export's or a snapshot refresh's job page is the long-job page of web/jobs.py."""

from django.urls import URLPattern, path

from kratomwatch.web import research, research_cohorts, research_nof1, surveillance

urlpatterns: list[URLPattern] = [
    path("research/surveillance/", surveillance.page, name="research-surveillance"),
    path("research/programs/<int:program_id>/export/", research.export_start, name="research-export"),
    path("research/programs/<int:program_id>/cohorts/", research_cohorts.cohort_list, name="research-cohorts"),
    path(
        "research/programs/<int:program_id>/snapshot/refresh/",
        research_cohorts.snapshot_refresh,
        name="research-snapshot-refresh",
    ),
    path("research/programs/<int:program_id>/nof1/", research_nof1.nof1_pooled, name="research-nof1"),
    path("research/cohorts/<int:cohort_id>/", research_cohorts.cohort_detail, name="research-cohort"),
    path("research/cohorts/<int:cohort_id>/edit/", research_cohorts.cohort_edit, name="research-cohort-edit"),
    path("research/cohorts/<int:cohort_id>/delete/", research_cohorts.cohort_delete, name="research-cohort-delete"),
    path(
        "research/cohorts/<int:cohort_id>/charts/<slug:chart_slug>.<slug:format_slug>",
        research_cohorts.cohort_chart,
        name="research-cohort-chart",
    ),
    path(
        "research/cohorts/<int:cohort_id>/tables/<slug:table_slug>.csv",
        research_cohorts.cohort_table,
        name="research-cohort-table",
    ),
    path("research/cohorts/<int:cohort_id>/tables.zip", research_cohorts.cohort_tables_zip, name="research-cohort-zip"),
    path("research/cohorts/<int:cohort_id>/report.pdf", research_cohorts.cohort_pdf, name="research-cohort-pdf"),
]
