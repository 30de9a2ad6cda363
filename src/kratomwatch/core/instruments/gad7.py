"""GAD-7 (Generalized Anxiety Disorder 7-item scale).

Seven items scored 0-3 over the last two weeks; total 0-21 with bands 0-4, 5-9, 10-14, 15-21. MCID 4 points
(Toussaint 2020). No published prorating rule was found: REQUIRE_ALL only.
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import PHQ_FREQUENCY, cite
from kratomwatch.core.instruments.phq9 import PFIZER_2010
from kratomwatch.core.instruments.schema import (
    Aggregation,
    Band,
    FlagKind,
    FlagRule,
    ImportantChange,
    InstrumentDefinition,
    Item,
    MissingPolicy,
    ScaleRule,
    ThresholdBasis,
)

SPITZER_2006 = cite(
    "Spitzer RL, Kroenke K, Williams JBW, Löwe B. A brief measure for assessing generalized anxiety "
    "disorder: the GAD-7. Arch Intern Med 2006;166(10):1092-1097",
    supports=(
        "7 items scored 0-3, total 0-21; cut point optimising sensitivity (89%) and specificity (82%) is 10; "
        "severity groups with 0-4 as reference and cut points 5, 10 and 15 for mild, moderate and severe "
        "(the abstract states only the cut point; the band cut points were read in the paper's figure "
        "legends and in reproductions citing it)"
    ),
    pmid="16717171",
    doi="10.1001/archinte.166.10.1092",
    url="https://jamanetwork.com/journals/jamainternalmedicine/fullarticle/410326",
)
TOUSSAINT_2020 = cite(
    "Toussaint A et al. Sensitivity to change and minimal clinically important difference of the 7-item "
    "Generalized Anxiety Disorder Questionnaire (GAD-7). J Affect Disord 2020;265:395-401",
    supports="MCID estimated at 4 points on the GAD-7 total score",
    pmid="32090765",
    doi="10.1016/j.jad.2020.01.032",
)
HL7_PCO_QUESTIONNAIRE = cite(
    "HL7 FHIR Person-Centered Outcomes IG, Questionnaire 69737-5",
    supports="LOINC 69737-5 = Generalized anxiety disorder 7 item (GAD-7) panel",
    url="https://build.fhir.org/ig/HL7/pco-ig/branches/1.0.0/en/Questionnaire-69737-5.xml",
)
MII_TOTAL = cite(
    "Medizininformatik-Initiative PRO IG, ObservationDefinition MII ObsDef PRO Score GAD-7",
    supports="LOINC 70274-6 = Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
    url=(
        "https://build.fhir.org/ig/medizininformatik-initiative/kerndatensatzmodul-proms/branches/v2026.7.0/"
        "en/ObservationDefinition-mii-obsdef-pro-score-gad-7.json"
    ),
)

_ITEMS = (
    ("gad7_1", "nervousness", "Feeling nervous, anxious or on edge"),
    ("gad7_2", "uncontrollable worry", "Not being able to stop or control worrying"),
    ("gad7_3", "excessive worry", "Worrying too much about different things"),
    ("gad7_4", "trouble relaxing", "Trouble relaxing"),
    ("gad7_5", "restlessness", "Being so restless that it is hard to sit still"),
    ("gad7_6", "irritability", "Becoming easily annoyed or irritable"),
    ("gad7_7", "feeling afraid", "Feeling afraid as if something awful might happen"),
)

DEFINITION = InstrumentDefinition(
    id="gad7",
    version="1.0",
    title="Generalized Anxiety Disorder 7-item scale (GAD-7)",
    items=tuple(Item(id=item_id, label=label, text=text, options=PHQ_FREQUENCY) for item_id, label, text in _ITEMS),
    recall_period="over the last 2 weeks",
    scales=(
        ScaleRule(
            id="total",
            label="GAD-7 total score",
            item_ids=tuple(item[0] for item in _ITEMS),
            aggregation=Aggregation.SUM,
            loinc="70274-6",
            bands=(
                Band(id="minimal", label="minimal", low=0, high=4, basis=ThresholdBasis.AUTHOR_DEFINED),
                Band(id="mild", label="mild", low=5, high=9, basis=ThresholdBasis.AUTHOR_DEFINED),
                Band(id="moderate", label="moderate", low=10, high=14, basis=ThresholdBasis.AUTHOR_DEFINED),
                Band(id="severe", label="severe", low=15, high=21, basis=ThresholdBasis.AUTHOR_DEFINED),
            ),
            important_change=ImportantChange(
                points=4,
                basis=ThresholdBasis.VALIDATED,
                citation=TOUSSAINT_2020,
                note="Estimated in a chronic-depression trial sample; the authors ask for confirmation in "
                "anxiety-focused treatment.",
            ),
        ),
    ),
    primary_scale_id="total",
    flag_rules=(
        FlagRule(
            id="screen_positive",
            label="GAD-7 total >= 10 (generalized anxiety disorder screening cut-off)",
            kind=FlagKind.SCALE_AT_OR_ABOVE,
            target_id="total",
            at_or_above=10,
            basis=ThresholdBasis.VALIDATED,
            citation=SPITZER_2006,
        ),
    ),
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="No published prorating rule for the GAD-7 was found; a blank item makes the total invalid.",
    loinc_panel="69737-5",
    licence=(
        "GAD-7 developed by Drs Spitzer, Williams, Kroenke and colleagues with an educational grant from "
        "Pfizer Inc.; Pfizer made the PHQ and GAD-7 available without copyright restriction and at no charge "
        "(2010)."
    ),
    citations=(SPITZER_2006, TOUSSAINT_2020, HL7_PCO_QUESTIONNAIRE, MII_TOTAL, PFIZER_2010),
    notes=("Bands are the authors' interpretive categories; the >= 10 cut-off is the validated one.",),
    not_confirmed=(
        "LOINC codes of the individual GAD-7 items: only some were seen in the sources read, so none are encoded.",
    ),
)
