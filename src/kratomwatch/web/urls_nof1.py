"""URL patterns of web/nof1.py (n-of-1 trials), included at the site root by web/urls.py: the clinician's pages
under the patient (``/clinic/patients/<code>/nof1/``), the patient's under ``/me/nof1/``."""

from django.urls import URLPattern, path

from kratomwatch.web import nof1

urlpatterns: list[URLPattern] = [
    path("clinic/patients/<str:code>/nof1/", nof1.trial_list, name="clinic-nof1-list"),
    path("clinic/patients/<str:code>/nof1/new/", nof1.design_new, name="clinic-nof1-new"),
    path("clinic/patients/<str:code>/nof1/<int:pk>/", nof1.trial_page, name="clinic-nof1-trial"),
    path("clinic/patients/<str:code>/nof1/<int:pk>/design/", nof1.design_edit, name="clinic-nof1-edit"),
    path("clinic/patients/<str:code>/nof1/<int:pk>/letter.pdf", nof1.letter, name="clinic-nof1-letter"),
    path("clinic/patients/<str:code>/nof1/<int:pk>/protocol.pdf", nof1.protocol, name="clinic-nof1-protocol"),
    path("clinic/patients/<str:code>/nof1/<int:pk>/card/", nof1.card_page_clinician, name="clinic-nof1-card"),
    path("me/nof1/<int:pk>/", nof1.patient_trial, name="patient-nof1"),
    path("me/nof1/<int:pk>/protocol.pdf", nof1.patient_protocol, name="patient-nof1-protocol"),
    path("me/nof1/<int:pk>/result/", nof1.patient_card, name="patient-nof1-card"),
]
