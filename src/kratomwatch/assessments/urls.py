from django.urls import path

from kratomwatch.assessments import views

app_name = "assessments"

urlpatterns = [
    path("<str:code>/", views.patient_assessments, name="list"),
    path("<str:code>/results/<int:pk>/", views.assessment_result, name="result"),
    path("<str:code>/<slug:instrument_id>/", views.assessment_form, name="form"),
]
