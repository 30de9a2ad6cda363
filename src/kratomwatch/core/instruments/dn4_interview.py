"""DN4-interview: the seven interview items of the DN4 (no examination), yes = 1 / no = 0.

Total 0-7; ``screen_positive`` at >= 3 (Spallone 2012).
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import YES_NO
from kratomwatch.core.instruments.dn4 import BOUHASSIRA_2005, INTERVIEW_ITEMS, LICENCE, NHS_GLOS_DN4, SPALLONE_2012
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

DEFINITION = InstrumentDefinition(
    id="dn4_interview",
    version="1.0",
    title="DN4-interview (7 interview items of the DN4)",
    items=tuple(Item(id=item_id, label=label, options=YES_NO) for item_id, label in INTERVIEW_ITEMS),
    recall_period="the pain as it is at the assessment",
    scales=(
        ScaleRule(
            id="total",
            label="DN4-interview total (0-7)",
            item_ids=tuple(item_id for item_id, _ in INTERVIEW_ITEMS),
            aggregation=Aggregation.SUM,
        ),
    ),
    primary_scale_id="total",
    flag_rules=(
        FlagRule(
            id="screen_positive",
            label="DN4-interview >= 3/7 (neuropathic pain likely)",
            kind=FlagKind.SCALE_AT_OR_ABOVE,
            target_id="total",
            at_or_above=3,
            basis=ThresholdBasis.VALIDATED,
            citation=SPALLONE_2012,
            note="Validated in painful diabetic polyneuropathy.",
        ),
    ),
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="No prorating rule: every item is required.",
    licence=LICENCE,
    citations=(SPALLONE_2012, BOUHASSIRA_2005, NHS_GLOS_DN4),
    notes=("A screen for neuropathic characteristics, not a diagnosis.",),
)
