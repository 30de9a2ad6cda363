"""URL patterns of web/jobs.py (long jobs: dose export and import), included at the site root by web/urls.py."""

from django.urls import URLPattern, path

from kratomwatch.web import jobs

urlpatterns: list[URLPattern] = [
    path("program/jobs/", jobs.jobs_list, name="jobs-list"),
    path("program/jobs/export-doses/", jobs.export_start, name="jobs-export-doses"),
    path("program/jobs/import-doses/", jobs.import_start, name="jobs-import-doses"),
    path("program/jobs/<uuid:job_id>/", jobs.job_page, name="job-page"),
    path("program/jobs/<uuid:job_id>/status.json", jobs.job_status, name="job-status"),
    path("program/jobs/<uuid:job_id>/download/", jobs.job_download, name="job-download"),
]
