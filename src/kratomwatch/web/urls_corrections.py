"""URL patterns of web/corrections.py, included at the site root by web/urls.py."""

from django.urls import URLPattern, path

from kratomwatch.web import corrections

urlpatterns: list[URLPattern] = [
    path(
        "clinic/patients/<str:code>/<slug:kind_slug>/<int:pk>/correct/",
        corrections.correct_view,
        name="clinic-entry-correct",
    ),
    path("clinic/patients/<str:code>/<slug:kind_slug>/<int:pk>/void/", corrections.void_view, name="clinic-entry-void"),
    path("me/dose/<int:pk>/undo/", corrections.patient_undo, name="patient-dose-undo"),
    path("me/side-effect/<int:pk>/undo/", corrections.patient_side_effect_undo, name="patient-side-effect-undo"),
]
