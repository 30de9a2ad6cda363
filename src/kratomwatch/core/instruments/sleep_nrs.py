"""Sleep quality numeric rating, 0-10 (single item; higher is better).

For daily outcome diaries such as an n-of-1 trial's. The published single-item Sleep Quality Scale (SQS; Snyder
et al. 2018) rates sleep quality 0-10 over the past 7 days; this item uses the same 0-10 direction (higher is
better sleep) with the program's own prompt and a recall of last night. No bands, MCID or LOINC code are encoded.
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import cite, numeric_options
from kratomwatch.core.instruments.schema import (
    Aggregation,
    InstrumentDefinition,
    Item,
    MissingPolicy,
    ScaleRule,
)

SNYDER_2018 = cite(
    "Snyder E, Cai B, DeMuro C, Morrison MF, Ball W. A New Single-Item Sleep Quality Scale: Results of "
    "Psychometric Evaluation in Patients With Chronic Primary Insomnia and Depression. J Clin Sleep Med "
    "2018;14(11):1849-1857",
    supports=(
        "a single 0-10 sleep-quality item correlated strongly with the PSQI and the morning questionnaire-insomnia "
        "sleep-quality items; mean scores fell from normal sleepers to those with sleep problems (higher is better)"
    ),
    doi="10.5664/jcsm.7478",
)

DEFINITION = InstrumentDefinition(
    id="sleep_nrs",
    version="1.0",
    title="Sleep quality numeric rating (0-10, last night)",
    items=(
        Item(
            id="sleep_quality",
            label="sleep quality last night",
            options=numeric_options(0, 10, {0: "very poor", 10: "excellent"}),
        ),
    ),
    recall_period="last night",
    scales=(
        ScaleRule(
            id="score",
            label="sleep quality (0-10, higher is better)",
            item_ids=("sleep_quality",),
            aggregation=Aggregation.SUM,
        ),
    ),
    primary_scale_id="score",
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="Single item: a blank answer leaves no score.",
    licence=(
        "Generic 0-10 rating with the program's own wording; the SQS's published wording and anchors are not "
        "reproduced (its licence terms were not confirmed)."
    ),
    citations=(SNYDER_2018,),
    notes=(
        "Higher is better (unlike the pain and craving ratings).",
        "The SQS was validated with a 7-day recall; a nightly recall is a program choice.",
    ),
    not_confirmed=(
        "Validity of a nightly (rather than 7-day) recall, bands, an MCID and a LOINC code: none encoded.",
        "The SQS's licence terms.",
    ),
)
