"""Craving intensity numeric rating, 0-10 (single item).

A generic single-item rating; the prompt and anchors are set by the program. No validated bands, MCID or
LOINC code were found, so none are encoded.
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

KLEYKAMP_2019 = cite(
    "Kleykamp BA et al. Craving and opioid use disorder: a scoping review. Drug Alcohol Depend 2019;205:107639",
    supports=(
        "visual-analogue single ratings are the most common opioid-craving measures (41 of 87 studies); formats "
        "and time frames vary and few craving instruments were psychometrically evaluated"
    ),
    doi="10.1016/j.drugalcdep.2019.107639",
)

DEFINITION = InstrumentDefinition(
    id="craving_nrs",
    version="1.0",
    title="Craving intensity numeric rating (0-10)",
    items=(Item(id="craving", label="craving intensity", options=numeric_options(0, 10)),),
    recall_period="as administered (current craving unless the program sets another period)",
    scales=(
        ScaleRule(
            id="score",
            label="craving intensity (0-10)",
            item_ids=("craving",),
            aggregation=Aggregation.SUM,
        ),
    ),
    primary_scale_id="score",
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="Single item: a blank answer leaves no score.",
    licence="Generic 0-10 rating; no licence restriction known. Prompt wording and anchors are left to the program.",
    citations=(KLEYKAMP_2019,),
    notes=("Conventional single-item rating: not validated for kratom, no bands and no clinically important change.",),
    not_confirmed=("Validated anchors, bands, an MCID or a LOINC code for a 0-10 craving rating - none encoded.",),
)
