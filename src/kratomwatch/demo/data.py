"""The fixed synthetic inputs of the demo: programs, logins, places, conditions, medications, adverse events."""

from __future__ import annotations

DEMO_SLUG = "demo"
DEMO_NAME = "Demo pain and addiction program"
OTHER_SLUG = "other-clinic"
OTHER_NAME = "Other clinic"

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - synthetic demo only; printed by `make run`
DEMO_LOGINS = [
    ("admin", DEMO_PASSWORD, "staff administrator"),
    ("clinician", DEMO_PASSWORD, "clinician, demo program"),
    ("programadmin", DEMO_PASSWORD, "program admin, demo program"),
    ("researcher", DEMO_PASSWORD, "researcher, demo program"),
    ("patient", DEMO_PASSWORD, "patient KW-001"),
    ("otherclinician", DEMO_PASSWORD, "clinician, other clinic (sees none of the demo patients)"),
]
LOGIN_ROLES = {
    "admin": "staff",
    "clinician": "clinician",
    "programadmin": "program_admin",
    "researcher": "researcher",
    "patient": "patient",
    "otherclinician": "clinician",
}
PATIENT_LOGIN_CODE = "KW-001"
OTHER_CLINIC_LOGIN = "otherclinician"

# (time zone, jurisdiction), by patient index.
PLACES = [
    ("America/Chicago", "US-TX"),
    ("America/New_York", "US-FL"),
    ("America/Denver", "US-CO"),
    ("America/Chicago", "US-OK"),
    ("America/Los_Angeles", "US-CA"),
    ("America/New_York", "US-NY"),
    ("America/New_York", "US-WV"),
    ("Europe/London", "GB"),
    ("Asia/Bangkok", "TH"),
    ("America/Chicago", "US-IL"),
]
CONDITION_SETS = [
    ["chronic_pain"],
    ["chronic_pain", "depression"],
    ["neuropathic_pain"],
    ["opioid_use_disorder"],
    ["opioid_use_disorder", "anxiety"],
    ["adhd"],
    ["chronic_pain", "anxiety"],
    ["kratom_use_disorder"],
    ["neuropathic_pain", "depression"],
    ["adhd", "anxiety"],
]
# (name, dose text)
MEDICATIONS = [
    ("Suboxone", "8 mg/2 mg SL daily"),
    ("gabapentin", "300 mg TID"),
    ("Xanax", "0.5 mg PRN"),
    ("sertraline", "50 mg daily"),
    ("Adderall XR", "20 mg daily"),
    ("methadone", "60 mg daily"),
    ("ibuprofen", "400 mg PRN"),
    ("quetiapine", "50 mg at night"),
    ("naltrexone", "50 mg daily"),
    ("duloxetine", "60 mg daily"),
    ("atorvastatin", "20 mg daily"),
    ("oxycodone", "5 mg PRN"),
]
# (term, grade, seriousness criteria, outcome)
AES: list[tuple[str, int, list[str], str]] = [
    ("Constipation", 1, [], "recovering"),
    ("Nausea", 1, [], "recovered"),
    ("Insomnia", 2, [], "not_recovered"),
    ("Seizure", 3, ["hospitalization"], "recovered"),
    ("Anorexia", 1, [], "recovering"),
    ("Hepatitis cholestatic", 3, ["hospitalization", "medically_important"], "recovering"),
    ("Tachycardia", 2, [], "recovered"),
    ("Pruritus", 1, [], "recovered"),
]

CONSENT_TITLE = "Monitoring and research consent"
CONSENT_TEXT = (
    "This program records the kratom products you use, your doses, medications, laboratory results, side "
    "effects and questionnaires so that your care team can monitor benefits and harms with you. kratomwatch "
    "never recommends a kratom dose. Research consent lets de-identified data be used in research exports; "
    "you can withdraw any consent at any time. (Synthetic demo text.)"
)

# The synthetic research cohort (``research_cohort``): SYNTHETIC patients KW-R001.. added to the demo program so
# the cohort analyses have a year of history to show. Weights are relative; each list follows PLACES,
# CONDITION_SETS or AES index by index.
RESEARCH_COHORT_SIZE = 120
RESEARCH_CODE_PREFIX = "KW-R"
RESEARCH_CARE_ONLY_EVERY = 20  # every 20th cohort patient signs care consent only (6 of 120)
RESEARCH_PLACE_WEIGHTS = [22, 17, 10, 10, 4, 14, 5, 4, 4, 10]
RESEARCH_CONDITION_WEIGHTS = [20, 15, 10, 10, 5, 5, 10, 10, 10, 5]
RESEARCH_AE_WEIGHTS = [25, 20, 15, 15, 10, 15, 10, 12]
RESEARCH_PLAN_GOALS = "Reduce daily kratom use step by step (synthetic research-cohort plan)."
