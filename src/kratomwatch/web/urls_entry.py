"""URL patterns of web/entry.py, included at the site root by web/urls.py (before the patient page, whose
``<code>`` would otherwise also match ``new``)."""

from django.urls import URLPattern, path

from kratomwatch.web import entry

urlpatterns: list[URLPattern] = [
    path("clinic/patients/new/", entry.enrol, name="clinic-enrol"),
    path("clinic/patients/<str:code>/medications/new/", entry.medication, name="clinic-patient-medication"),
    path("clinic/patients/<str:code>/labs/new/", entry.lab, name="clinic-patient-lab"),
    path("clinic/patients/<str:code>/adverse-events/new/", entry.adverse_event, name="clinic-patient-ae"),
    path("clinic/patients/<str:code>/doses/new/", entry.dose, name="clinic-patient-dose"),
    path("clinic/patients/<str:code>/invite/", entry.patient_invite, name="clinic-patient-invite"),
    path(
        "clinic/patients/<str:code>/consent-override/",
        entry.consent_override,
        name="clinic-patient-consent-override",
    ),
    path("invite/", entry.invite_enter, name="invite-enter"),
    path("invite/<str:invite_code>/", entry.invite_accept, name="invite-accept"),
]
