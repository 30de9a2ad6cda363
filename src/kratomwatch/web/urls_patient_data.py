"""URL patterns of web/patient_data.py, included at the site root by web/urls.py."""

from django.urls import URLPattern, path

from kratomwatch.web import patient_data

urlpatterns: list[URLPattern] = [
    path("me/download/", patient_data.download, name="patient-download"),
    path("me/download/record-csv.zip", patient_data.download_csv, name="patient-download-csv"),
    path("me/download/record-fhir.json", patient_data.download_fhir, name="patient-download-fhir"),
    path("me/import/", patient_data.import_tracker, name="patient-import"),
]
