from django.contrib.auth import views as auth_views
from django.urls import path

from kratomwatch.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]

# Patient pages (web/patient.py): the logged-in patient's own record only. Without care consent the care-data
# forms show why and "Sign again" instead (web/consent.py).
from kratomwatch.web import patient as patient_views  # noqa: E402
from kratomwatch.web.consent import care_consent_gate as _care_gate  # noqa: E402

urlpatterns += [
    path("me/", patient_views.home, name="patient-home"),
    path("me/dose/", _care_gate("dose")(patient_views.log_dose), name="patient-dose"),
    path("me/dose/<int:pk>/", patient_views.dose_logged, name="patient-dose-logged"),
    path("me/side-effect/", _care_gate("side-effect")(patient_views.side_effect), name="patient-side-effect"),
    path("me/side-effect/<int:pk>/", patient_views.side_effect_saved, name="patient-side-effect-saved"),
    path("me/p/<str:code>/", patient_views.home, name="patient-home-code"),
    path("me/p/<str:code>/dose/", _care_gate("dose")(patient_views.log_dose), name="patient-dose-code"),
    path(
        "me/p/<str:code>/side-effect/",
        _care_gate("side-effect")(patient_views.side_effect),
        name="patient-side-effect-code",
    ),
]

# Clinician pages (web/clinician.py).
from kratomwatch.web import clinician  # noqa: E402

urlpatterns += [
    path("clinic/", clinician.dashboard, name="clinic-dashboard"),
    path("clinic/patients/<str:code>/", clinician.patient_page, name="clinic-patient"),
    path("clinic/patients/<str:code>/care-plan/", clinician.care_plan, name="clinic-care-plan"),
    path("clinic/patients/<str:code>/summary.pdf", clinician.visit_summary_pdf, name="clinic-visit-summary"),
]

# Questionnaires (web/assessments.py), consent (web/consent.py) and the audit trail (web/audit.py): included from
# the root URLconf under their own prefixes; the questionnaire names keep their "assessments:" namespace.
from kratomwatch.web import assessments as assessment_views  # noqa: E402
from kratomwatch.web import audit as audit_views  # noqa: E402
from kratomwatch.web import consent as consent_views  # noqa: E402

assessment_patterns = [
    path("<str:code>/", assessment_views.patient_assessments, name="list"),
    path("<str:code>/results/<int:pk>/", assessment_views.assessment_result, name="result"),
    path(
        "<str:code>/<slug:instrument_id>/", _care_gate("questionnaire")(assessment_views.assessment_form), name="form"
    ),
]
consent_patterns = [path("<str:code>/", consent_views.consent_page, name="consent")]
audit_patterns = [path("", audit_views.audit_log, name="audit-log")]

# Each area keeps its own URL list: care-team data entry and invitations (web/entry.py), corrections and voids
# (web/corrections.py), program administration (web/program_admin.py), the alert queue (web/alert_queue.py) and
# the patient's own data in and out (web/patient_data.py), and long jobs (web/jobs.py: dose export and import).
from kratomwatch.web import (  # noqa: E402
    urls_alert_queue,
    urls_corrections,
    urls_entry,
    urls_jobs,
    urls_nof1,
    urls_patient_data,
    urls_program_admin,
    urls_reminders,
    urls_research,
)

for _area in (urls_entry, urls_corrections, urls_program_admin, urls_alert_queue, urls_patient_data, urls_reminders):
    urlpatterns += _area.urlpatterns
urlpatterns += urls_jobs.urlpatterns
urlpatterns += urls_research.urlpatterns
urlpatterns += urls_nof1.urlpatterns
# The claim checker (web/claims.py): reads no patient data.
from kratomwatch.web import urls_claims  # noqa: E402

urlpatterns += urls_claims.urlpatterns
# Entry first: /clinic/patients/new/ would otherwise open the patient page of a patient coded "new".
urlpatterns[:0] = urls_entry.urlpatterns[:1]
