"""DSM-5 substance use disorder criteria applied to kratom: 11 criteria, met = 1 / not met = 0.

Order: (1) larger amounts or longer than intended, (2) wish or failed efforts to cut down, (3) much time
spent, (4) craving, (5) role failure, (6) social or interpersonal problems, (7) activities given up,
(8) hazardous use, (9) use despite physical or psychological problems, (10) tolerance, (11) withdrawal;
within a 12-month period. Severity specifiers: 2-3 mild, 4-5 moderate, 6 or more severe; fewer than 2 is
below the threshold. When ``supervised=True`` (taken solely under appropriate medical supervision),
tolerance and withdrawal are not counted. The criteria text is © APA: short paraphrased labels only.
A criteria count is not a diagnosis.
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import YES_NO, cite
from kratomwatch.core.instruments.schema import (
    Aggregation,
    AnswerOption,
    Band,
    InstrumentDefinition,
    Item,
    MissingPolicy,
    ScaleRule,
    ThresholdBasis,
)

APA_DSM5 = cite(
    "American Psychiatric Association. Diagnostic and Statistical Manual of Mental Disorders, 5th ed. "
    "(DSM-5). Arlington, VA: APA; 2013",
    supports="primary source of the criteria (not read directly; its content was confirmed via PMC7993020)",
    doi="10.1176/appi.books.9780890425596",
)
PMC7993020 = cite(
    "Peer-reviewed reproduction of the DSM-5 substance use disorder criteria (PMC7993020, table T14-0005)",
    supports=(
        "two or more of 11 criteria within a 12-month period, in the order encoded here; tolerance and "
        "withdrawal are not considered met for those taking the substance solely under appropriate medical "
        "supervision; severity: mild 2-3, moderate 4-5, severe 6 or more criteria"
    ),
    url="https://pmc.ncbi.nlm.nih.gov/articles/PMC7993020/table/T14-0005",
)
PSYCHCENTRAL = cite(
    "Psych Central: DSM-5 substance use disorder, severity and specifiers",
    supports="substance classes include 'Other (Unknown)', the class under which kratom use is assessed",
    url="https://psychcentral.com/disorders/revised-alcoholsubstance-use-disorder/2/",
)

SUPERVISED_WARNING = (
    "WARNING: supervised use drops tolerance and withdrawal. DSM-5 makes this exclusion only for a medication "
    "taken as prescribed, solely under appropriate medical supervision. Kratom bought and taken on one's own is "
    "not supervised use: count tolerance and withdrawal unless the kratom is given within a supervised clinical "
    "program."
)
"""Why ``supervised=True`` for kratom itself is almost always wrong (PMC7993020, table T14-0005)."""

_MET = tuple(AnswerOption(value=o.value, label="met" if o.value else "not met") for o in YES_NO)
_CRITERIA = (
    ("dsm5_larger_longer", "1 larger amounts or longer than intended"),
    ("dsm5_cut_down", "2 wish or unsuccessful efforts to cut down"),
    ("dsm5_time_spent", "3 much time obtaining, using or recovering"),
    ("dsm5_craving", "4 craving"),
    ("dsm5_role_failure", "5 failure to fulfil major role obligations"),
    ("dsm5_social_problems", "6 use despite social or interpersonal problems"),
    ("dsm5_activities_given_up", "7 important activities given up or reduced"),
    ("dsm5_hazardous_use", "8 use in physically hazardous situations"),
    ("dsm5_despite_problems", "9 use despite a physical or psychological problem"),
    ("dsm5_tolerance", "10 tolerance"),
    ("dsm5_withdrawal", "11 withdrawal"),
)

DEFINITION = InstrumentDefinition(
    id="dsm5_sud",
    version="1.0",
    title="DSM-5 substance use disorder criteria, applied to kratom",
    items=tuple(Item(id=item_id, label=label, options=_MET) for item_id, label in _CRITERIA),
    recall_period="within a 12-month period",
    scales=(
        ScaleRule(
            id="criteria_count",
            label="number of DSM-5 criteria met (0-11)",
            item_ids=tuple(item_id for item_id, _ in _CRITERIA),
            aggregation=Aggregation.SUM,
            excluded_when_supervised=("dsm5_tolerance", "dsm5_withdrawal"),
            supervised_warning=SUPERVISED_WARNING,
            bands=(
                Band(
                    id="none",
                    label="below threshold (fewer than 2 criteria)",
                    low=0,
                    high=1,
                    basis=ThresholdBasis.AUTHOR_DEFINED,
                ),
                Band(id="mild", label="mild", low=2, high=3, basis=ThresholdBasis.AUTHOR_DEFINED),
                Band(id="moderate", label="moderate", low=4, high=5, basis=ThresholdBasis.AUTHOR_DEFINED),
                Band(id="severe", label="severe", low=6, high=11, basis=ThresholdBasis.AUTHOR_DEFINED),
            ),
            note="With supervised=True tolerance and withdrawal are not counted (range 0-9).",
        ),
    ),
    primary_scale_id="criteria_count",
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="Every criterion must be rated met or not met; a blank leaves no count.",
    licence=("DSM-5 criteria text © American Psychiatric Association. Not shipped: only short paraphrased labels."),
    citations=(APA_DSM5, PMC7993020, PSYCHCENTRAL),
    notes=(
        "Severity specifiers are the manual's definitions, not validated cut-offs.",
        "A count of criteria supports, but is not, a diagnosis: that needs a clinician's judgement of "
        "clinically significant impairment or distress.",
    ),
)
