"""Clinical Opiate Withdrawal Scale (COWS), 11 clinician-rated items, each with its own scores.

Total 0-48 with bands: below 5, 5-12 mild, 13-24 moderate, 25-36 moderately severe, more than 36 severe.
Developed for opioid withdrawal; its use for kratom withdrawal is an extrapolation (not validated for
kratom). The published form may be copied for clinical use; anchors are shortened here.
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import cite, labelled_options
from kratomwatch.core.instruments.schema import (
    Aggregation,
    Band,
    InstrumentDefinition,
    Item,
    MissingPolicy,
    ScaleRule,
    ThresholdBasis,
)

WESSON_LING_2003 = cite(
    "Wesson DR, Ling W. The Clinical Opiate Withdrawal Scale (COWS). J Psychoactive Drugs 2003;35(2):253-259",
    supports=(
        "clinician-administered instrument rating eleven opiate withdrawal signs or symptoms; the summed "
        "score assesses the level of withdrawal; a template of the form that can be copied and used "
        "clinically is appended"
    ),
    doi="10.1080/02791072.2003.10400007",
)
TIP63_COWS = cite(
    "SAMHSA TIP 63, Clinical Opiate Withdrawal Scale (NCBI Bookshelf NBK64244)",
    supports=(
        "item scores: pulse 0/1/2/4, sweating 0-4, restlessness 0/1/3/5, pupil size 0/1/2/5, bone or joint "
        "aches 0/1/2/4, GI upset 0/1/2/3/5, tremor 0/1/2/4, yawning 0/1/2/4, anxiety or irritability "
        "0/1/2/4, gooseflesh 0/3/5, with their anchors"
    ),
    url="https://www.ncbi.nlm.nih.gov/books/NBK64244/table/A72915/",
)
VALANT_COWS = cite(
    "Valant measures library: COWS - Clinical Opiate Withdrawal Scale",
    supports="total 0-48; 5-12 mild, 13-24 moderate, 25-36 moderately severe, >36 severe withdrawal",
    url="https://help.valant.com/79967-measures/cows-clinical-opiate-withdrawal-scale",
)
MDAPP_COWS = cite(
    "MDApp: Clinical Opiate Withdrawal Scale (COWS) calculator",
    supports="scores below 5 are not conclusive of relevant withdrawal symptoms",
    url="https://www.mdapp.co/clinical-opiate-withdrawal-scale-cows-calculator-189/",
)

_ITEMS = (
    (
        "cows_pulse",
        "resting pulse rate (after sitting or lying for one minute)",
        ((0, "80 or below"), (1, "81-100"), (2, "101-120"), (4, "greater than 120")),
    ),
    (
        "cows_sweating",
        "sweating over the past half hour, not accounted for by room temperature or activity",
        (
            (0, "no report of chills or flushing"),
            (1, "subjective chills or flushing"),
            (2, "flushed or observable moisture on face"),
            (3, "beads of sweat on brow or face"),
            (4, "sweat streaming off face"),
        ),
    ),
    (
        "cows_restlessness",
        "restlessness, observed during assessment",
        (
            (0, "able to sit still"),
            (1, "reports difficulty sitting still, but is able to"),
            (3, "frequent shifting or extraneous movements of legs/arms"),
            (5, "unable to sit still for more than a few seconds"),
        ),
    ),
    (
        "cows_pupils",
        "pupil size",
        (
            (0, "pinned or normal for room light"),
            (1, "possibly larger than normal"),
            (2, "moderately dilated"),
            (5, "so dilated only the rim of the iris is visible"),
        ),
    ),
    (
        "cows_aches",
        "bone or joint aches (only the part attributed to withdrawal)",
        (
            (0, "not present"),
            (1, "mild diffuse discomfort"),
            (2, "reports severe diffuse aching of joints/muscles"),
            (4, "rubbing joints or muscles, unable to sit still because of discomfort"),
        ),
    ),
    (
        "cows_runny_nose",
        "runny nose or tearing, not accounted for by cold symptoms or allergies",
        (
            (0, "not present"),
            (1, "nasal stuffiness or unusually moist eyes"),
            (2, "nose running or tearing"),
            (4, "nose constantly running or tears streaming"),
        ),
    ),
    (
        "cows_gi_upset",
        "GI upset over the last half hour",
        (
            (0, "no GI symptoms"),
            (1, "stomach cramps"),
            (2, "nausea or loose stool"),
            (3, "vomiting or diarrhoea"),
            (5, "multiple episodes of diarrhoea or vomiting"),
        ),
    ),
    (
        "cows_tremor",
        "tremor, observation of outstretched hands",
        (
            (0, "no tremor"),
            (1, "tremor can be felt, but not observed"),
            (2, "slight tremor observable"),
            (4, "gross tremor or muscle twitching"),
        ),
    ),
    (
        "cows_yawning",
        "yawning, observed during assessment",
        (
            (0, "no yawning"),
            (1, "once or twice during assessment"),
            (2, "three or more times during assessment"),
            (4, "several times per minute"),
        ),
    ),
    (
        "cows_anxiety",
        "anxiety or irritability",
        (
            (0, "none"),
            (1, "reports increasing irritability or anxiousness"),
            (2, "obviously irritable or anxious"),
            (4, "so irritable or anxious that participation is difficult"),
        ),
    ),
    (
        "cows_gooseflesh",
        "gooseflesh skin",
        ((0, "skin is smooth"), (3, "piloerection can be felt or hairs standing up"), (5, "prominent piloerection")),
    ),
)

DEFINITION = InstrumentDefinition(
    id="cows",
    version="1.0",
    title="Clinical Opiate Withdrawal Scale (COWS)",
    items=tuple(Item(id=item_id, label=label, options=labelled_options(options)) for item_id, label, options in _ITEMS),
    recall_period="at the assessment (some items: over the past half hour)",
    scales=(
        ScaleRule(
            id="total",
            label="COWS total (0-48)",
            item_ids=tuple(item[0] for item in _ITEMS),
            aggregation=Aggregation.SUM,
            bands=(
                Band(
                    id="below_mild",
                    label="below the mild range (< 5)",
                    low=0,
                    high=4,
                    basis=ThresholdBasis.CONVENTIONAL,
                    note="The form labels bands from 5 upward; scores below 5 are shown as below the mild range.",
                ),
                Band(id="mild", label="mild", low=5, high=12, basis=ThresholdBasis.AUTHOR_DEFINED),
                Band(id="moderate", label="moderate", low=13, high=24, basis=ThresholdBasis.AUTHOR_DEFINED),
                Band(
                    id="moderately_severe",
                    label="moderately severe",
                    low=25,
                    high=36,
                    basis=ThresholdBasis.AUTHOR_DEFINED,
                ),
                Band(id="severe", label="severe", low=37, high=48, basis=ThresholdBasis.AUTHOR_DEFINED),
            ),
        ),
    ),
    primary_scale_id="total",
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="No prorating rule: all 11 items are required.",
    licence=(
        "Published by Wesson and Ling (2003) with a form that may be copied and used clinically. Item titles "
        "and anchors are shortened paraphrases of the form."
    ),
    citations=(WESSON_LING_2003, TIP63_COWS, VALANT_COWS, MDAPP_COWS),
    notes=(
        "Validated for opioid withdrawal; applying it to kratom withdrawal is an extrapolation.",
        "Bands describe withdrawal severity; they are not linked to any dosing in this software.",
    ),
    not_confirmed=("A LOINC code for the COWS total; the PMID of Wesson & Ling 2003 - not encoded.",),
)
