"""PHQ-9 (Patient Health Questionnaire, 9-item depression module).

Nine items scored 0-3 over the last two weeks; total 0-27 with the authors' severity bands. Item 9 (thoughts
of death or self-harm) raises ``suicidality`` whenever it is above 0, whatever the total, and
``suicidality_unassessed`` when it is left blank. No published prorating rule was found, so the only
missing-item policy is REQUIRE_ALL (PRORATE raises UnsupportedMissingPolicy).
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import PHQ_FREQUENCY, cite
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

KROENKE_2001 = cite(
    "Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity measure. "
    "J Gen Intern Med 2001;16(9):606-613",
    supports=(
        "9 DSM-IV criteria items scored 0 (not at all) to 3 (nearly every day), total 0-27; scores of 5, 10, "
        "15 and 20 represent mild, moderate, moderately severe and severe depression; a score >= 10 had "
        "sensitivity 88% and specificity 88% for major depression"
    ),
    pmid="11556941",
    doi="10.1046/j.1525-1497.2001.016009606.x",
    url="https://pmc.ncbi.nlm.nih.gov/articles/PMC1495268/",
)
LOWE_2004 = cite(
    "Löwe B, Unützer J, Callahan CM, Perkins AJ, Kroenke K. Monitoring depression treatment outcomes with "
    "the Patient Health Questionnaire-9. Med Care 2004;42(12):1194-1201",
    supports=(
        "minimal clinically important difference for individual change, estimated as 2 standard errors of "
        "measurement: 5 points on the 0-27 scale"
    ),
    pmid="15550799",
    doi="10.1097/00005650-200412000-00006",
)
US_CORE_QUESTIONNAIRE = cite(
    "HL7 FHIR US Core Implementation Guide, Questionnaire PHQ-9 Example",
    supports=(
        "LOINC codes of items 1-9 (44250-9, 44255-8, 44259-0, 44254-1, 44251-7, 44258-2, 44252-5, 44253-3, "
        "44260-8) with their wording; Pfizer statement 'No permission required to reproduce, translate, "
        "display or distribute'"
    ),
    url="https://hl7.org/fhir/us/core/Questionnaire-phq-9-example.html",
)
US_CORE_TOTAL = cite(
    "HL7 FHIR US Core Implementation Guide, Observation PHQ9 Item Example 44261-6",
    supports="LOINC 44261-6 = Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    url="https://hl7.org/fhir/us/core/STU7/Observation-PHQ9-item-example-44261-6.html",
)
US_CORE_PANEL = cite(
    "HL7 FHIR US Core Implementation Guide, Observation PHQ9 Panel Example 44249-1",
    supports="LOINC 44249-1 = PHQ-9 quick depression assessment panel [Reported.PHQ]",
    url="https://hl7.org/fhir/us/core/STU7/Observation-PHQ9-panel-example-44249-1.json.html",
)
PFIZER_2010 = cite(
    "Pfizer announces unrestricted access to patient assessment aids for mental disorders (23 July 2010)",
    supports="PHQ and GAD-7 may be downloaded and used without copyright restriction and at no charge",
    url=(
        "https://news-medical.net/news/20100723/"
        "Pfizer-announces-unrestricted-access-to-patient-assessment-aids-for-mental-disorders.aspx"
    ),
)
SIMON_2013 = cite(
    "Simon GE et al. PHQ-9 item 9 responses and subsequent suicide attempt or suicide death. Psychiatr Serv 2013",
    supports=(
        "after adjustment for age, sex, treatment history and overall depression severity, item 9 remained "
        "a strong predictor of suicide attempt (basis for flagging item 9 whatever the total)"
    ),
    doi="10.1176/appi.ps.201200587",
)

_ITEMS = (
    ("phq9_1", "anhedonia", "Little interest or pleasure in doing things", "44250-9"),
    ("phq9_2", "depressed mood", "Feeling down, depressed, or hopeless", "44255-8"),
    ("phq9_3", "sleep", "Trouble falling or staying asleep, or sleeping too much", "44259-0"),
    ("phq9_4", "fatigue", "Feeling tired or having little energy", "44254-1"),
    ("phq9_5", "appetite", "Poor appetite or overeating", "44251-7"),
    (
        "phq9_6",
        "worthlessness",
        "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
        "44258-2",
    ),
    (
        "phq9_7",
        "concentration",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "44252-5",
    ),
    (
        "phq9_8",
        "psychomotor change",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
        "fidgety or restless that you have been moving around a lot more than usual",
        "44253-3",
    ),
    (
        "phq9_9",
        "thoughts of death or self-harm",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
        "44260-8",
    ),
)

DEFINITION = InstrumentDefinition(
    id="phq9",
    version="1.0",
    title="Patient Health Questionnaire-9 (PHQ-9)",
    items=tuple(
        Item(id=item_id, label=label, text=text, options=PHQ_FREQUENCY, loinc=loinc)
        for item_id, label, text, loinc in _ITEMS
    ),
    recall_period="over the last 2 weeks",
    scales=(
        ScaleRule(
            id="total",
            label="PHQ-9 total score",
            item_ids=tuple(item[0] for item in _ITEMS),
            aggregation=Aggregation.SUM,
            loinc="44261-6",
            bands=(
                Band(
                    id="minimal",
                    label="minimal",
                    low=0,
                    high=4,
                    basis=ThresholdBasis.AUTHOR_DEFINED,
                    note="Kroenke 2001 names the bands from 5 upward; 'minimal' for 0-4 is the usual label.",
                ),
                Band(id="mild", label="mild", low=5, high=9, basis=ThresholdBasis.AUTHOR_DEFINED),
                Band(id="moderate", label="moderate", low=10, high=14, basis=ThresholdBasis.AUTHOR_DEFINED),
                Band(
                    id="moderately_severe",
                    label="moderately severe",
                    low=15,
                    high=19,
                    basis=ThresholdBasis.AUTHOR_DEFINED,
                ),
                Band(id="severe", label="severe", low=20, high=27, basis=ThresholdBasis.AUTHOR_DEFINED),
            ),
            important_change=ImportantChange(
                points=5,
                basis=ThresholdBasis.VALIDATED,
                citation=LOWE_2004,
                note="Individual-change MCID (2 SEM) from a late-life depression trial sample.",
            ),
        ),
    ),
    primary_scale_id="total",
    flag_rules=(
        FlagRule(
            id="suicidality",
            label="thoughts of death or self-harm endorsed (item 9 > 0)",
            kind=FlagKind.ITEM_AT_OR_ABOVE,
            target_id="phq9_9",
            at_or_above=1,
            basis=ThresholdBasis.CONVENTIONAL,
            citation=SIMON_2013,
            flag_when_unanswered=True,
            note=(
                "Safety convention: any answer above 'not at all' is flagged whatever the total. The flag "
                "asks for clinician review; it is not a suicide-risk assessment."
            ),
        ),
        FlagRule(
            id="screen_positive",
            label="PHQ-9 total >= 10 (major depression screening cut-off)",
            kind=FlagKind.SCALE_AT_OR_ABOVE,
            target_id="total",
            at_or_above=10,
            basis=ThresholdBasis.VALIDATED,
            citation=KROENKE_2001,
        ),
    ),
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note=(
        "No published prorating rule for the PHQ-9 total was found in the sources read, so a blank item "
        "makes the total invalid; PRORATE is refused."
    ),
    loinc_panel="44249-1",
    licence=(
        "PHQ-9 © Pfizer Inc. Developed by Drs Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and "
        "colleagues with an educational grant from Pfizer Inc. No permission required to reproduce, translate, "
        "display or distribute. Item wording shipped as reproduced in the LOINC/HL7 US Core PHQ-9 example."
    ),
    citations=(KROENKE_2001, LOWE_2004, US_CORE_QUESTIONNAIRE, US_CORE_TOTAL, US_CORE_PANEL, PFIZER_2010, SIMON_2013),
    notes=(
        "The unscored 10th question (how difficult the problems made daily life) is not part of this definition.",
        "Bands are the authors' interpretive categories; only the >= 10 cut-off was validated against an "
        "interview reference standard in Kroenke 2001.",
    ),
)
