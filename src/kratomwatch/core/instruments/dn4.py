"""DN4 (Douleur Neuropathique en 4 questions): 7 interview items + 3 examination items, yes = 1 / no = 0.

Total 0-10; ``screen_positive`` at >= 4 (Bouhassira 2005; confirmed at cut-off 4 in painful diabetic
polyneuropathy by Spallone 2012). Clinician-administered. Licence terms were not confirmed, so item wording
is not shipped (short symptom labels only).
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import YES_NO, cite
from kratomwatch.core.instruments.schema import (
    Aggregation,
    FlagKind,
    FlagRule,
    InstrumentDefinition,
    Item,
    MissingPolicy,
    ScaleRule,
    ThresholdBasis,
)

BOUHASSIRA_2005 = cite(
    "Bouhassira D et al. Comparison of pain syndromes associated with nervous or somatic lesions and "
    "development of a new neuropathic pain diagnostic questionnaire (DN4). Pain 2005;114(1-2):29-36",
    supports="10-item clinician-administered questionnaire: 7 sensory descriptors and 3 bedside examination signs",
    pmid="15733628",
    doi="10.1016/j.pain.2004.12.010",
)
SPALLONE_2012 = cite(
    "Spallone V et al. Validation of DN4 as a screening tool for neuropathic pain in painful diabetic "
    "polyneuropathy. Diabet Med 2012;29(5):578-585",
    supports=(
        "at the cut-off of 4, DN4 sensitivity 80% and specificity 92%; at the cut-off of 3, DN4-interview "
        "sensitivity and specificity 84%"
    ),
    doi="10.1111/j.1464-5491.2011.03500.x",
)
NHS_GLOS_DN4 = cite(
    "Gloucestershire Hospitals NHS Foundation Trust, Pain Management: The DN4 Questionnaire",
    supports=(
        "items (burning, painful cold, electric shocks, tingling, pins and needles, numbness, itching, "
        "hypoesthesia to touch, hypoesthesia to prick, pain caused or increased by brushing); 1 per yes, "
        "0 per no; a score of 4 or higher makes neuropathic pain likely"
    ),
    url=(
        "http://gloshospitals.nhs.uk/en/Wards-and-Departments/Departments/Pain-Management/Different-Pains/"
        "Nerve-Pain/Assessment-of-Nerve-Pain/DN4-Draft/"
    ),
)

INTERVIEW_ITEMS = (
    ("dn4_burning", "burning"),
    ("dn4_painful_cold", "painful cold"),
    ("dn4_electric_shocks", "electric shocks"),
    ("dn4_tingling", "tingling"),
    ("dn4_pins_and_needles", "pins and needles"),
    ("dn4_numbness", "numbness"),
    ("dn4_itching", "itching"),
)
EXAMINATION_ITEMS = (
    ("dn4_hypoesthesia_touch", "examination: hypoesthesia to touch"),
    ("dn4_hypoesthesia_prick", "examination: hypoesthesia to prick"),
    ("dn4_brushing", "examination: pain caused or increased by brushing"),
)
LICENCE = (
    "DN4 © its authors (French Neuropathic Pain Group). Licence terms for redistribution in software were "
    "not confirmed, so only short symptom labels are shipped (text=None)."
)

DEFINITION = InstrumentDefinition(
    id="dn4",
    version="1.0",
    title="DN4 neuropathic pain questionnaire (10 items)",
    items=tuple(
        Item(id=item_id, label=label, options=YES_NO) for item_id, label in INTERVIEW_ITEMS + EXAMINATION_ITEMS
    ),
    recall_period="the pain as it is at the assessment (interview and bedside examination)",
    scales=(
        ScaleRule(
            id="total",
            label="DN4 total (0-10)",
            item_ids=tuple(item_id for item_id, _ in INTERVIEW_ITEMS + EXAMINATION_ITEMS),
            aggregation=Aggregation.SUM,
        ),
    ),
    primary_scale_id="total",
    flag_rules=(
        FlagRule(
            id="screen_positive",
            label="DN4 >= 4/10 (neuropathic pain likely)",
            kind=FlagKind.SCALE_AT_OR_ABOVE,
            target_id="total",
            at_or_above=4,
            basis=ThresholdBasis.VALIDATED,
            citation=SPALLONE_2012,
            note="Cut-off of the original validation (Bouhassira 2005); a Dutch validation found 5/10 better.",
        ),
    ),
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="No prorating rule: every item is required for the total and the screen.",
    licence=LICENCE,
    citations=(BOUHASSIRA_2005, SPALLONE_2012, NHS_GLOS_DN4),
    notes=("A screen for neuropathic characteristics, not a diagnosis.",),
    not_confirmed=(
        "The Bouhassira 2005 abstract itself was not read; the 4/10 cut-off was confirmed via Spallone 2012 "
        "and an NHS reproduction of the form.",
    ),
)
