"""Brief Pain Inventory, short form (BPI-SF): severity and interference sub-scores.

Answer order: the four severity items (worst, least, average, now), then the seven interference items
(general activity, mood, walking ability, normal work, relations with other people, sleep, enjoyment of life),
each 0-10. Severity = mean of the four; interference = mean of the seven, usable when at least 4 of 7 are
answered (BPI User Guide). The BPI is copyrighted (Cleeland): identifiers and scoring only, text=None.
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import cite, dworkin_2008, numeric_options
from kratomwatch.core.instruments.schema import (
    Aggregation,
    ImportantChange,
    InstrumentDefinition,
    Item,
    MissingPolicy,
    ScaleRule,
    ThresholdBasis,
)

BPI_USER_GUIDE = cite(
    "Cleeland CS. The Brief Pain Inventory User Guide. 2009 (reproduction read)",
    supports=(
        "copyright held by Charles S. Cleeland (1991), not to be used, reproduced or modified without "
        "permission; severity items worst, least, average, now; interference scored as the mean of the seven "
        "items, usable if more than 50% (four of seven) are completed"
    ),
    url="https://studyres.com/doc/1712721/bpi-user-guide---md-anderson-cancer-center",
)
EPPOC_BPI = cite(
    "ePPOC (Australian Health Services Research Institute): Brief Pain Inventory scoring",
    supports=(
        "severity = average of worst, least, average and now; interference = average of the seven items, "
        "valid when at least 4 of 7 are completed; IMMPACT clinically significant change = 1 point"
    ),
    url="https://ahsri.atlassian.net/wiki/pages/viewpage.action?navigatingVersions=true&pageId=20584125",
)
SRALAB_BPI = cite(
    "Shirley Ryan AbilityLab Rehabilitation Measures Database: Brief Pain Inventory",
    supports="short form of 9 items; recall of the past 24 hours or the past week; not free (licence fees)",
    url="https://www.sralab.org/rehabilitation-measures/brief-pain-inventory",
)

_SEVERITY = (
    ("bpi_worst", "worst pain"),
    ("bpi_least", "least pain"),
    ("bpi_average", "average pain"),
    ("bpi_now", "pain right now"),
)
_INTERFERENCE = (
    ("bpi_general_activity", "interference: general activity"),
    ("bpi_mood", "interference: mood"),
    ("bpi_walking", "interference: walking ability"),
    ("bpi_work", "interference: normal work"),
    ("bpi_relations", "interference: relations with other people"),
    ("bpi_sleep", "interference: sleep"),
    ("bpi_enjoyment", "interference: enjoyment of life"),
)
_ZERO_TO_TEN = numeric_options(0, 10)

DEFINITION = InstrumentDefinition(
    id="bpi_sf",
    version="1.0",
    title="Brief Pain Inventory - short form (BPI-SF)",
    items=tuple(Item(id=item_id, label=label, options=_ZERO_TO_TEN) for item_id, label in _SEVERITY + _INTERFERENCE),
    recall_period="the last 24 hours (short form; a past-week version also exists)",
    scales=(
        ScaleRule(
            id="interference",
            label="BPI interference (mean of 7 items)",
            item_ids=tuple(item_id for item_id, _ in _INTERFERENCE),
            aggregation=Aggregation.MEAN,
            prorate_min_answered=4,
            important_change=ImportantChange(
                points=1,
                basis=ThresholdBasis.CONSENSUS,
                citation=dworkin_2008("BPI interference: a 1-point decrease is minimally important"),
            ),
        ),
        ScaleRule(
            id="severity",
            label="BPI severity (mean of 4 items)",
            item_ids=tuple(item_id for item_id, _ in _SEVERITY),
            aggregation=Aggregation.MEAN,
            note="No prorating rule for severity was found: all four items are required, under any policy.",
        ),
    ),
    primary_scale_id="interference",
    default_missing_policy=MissingPolicy.PRORATE,
    supported_missing_policies=(MissingPolicy.PRORATE, MissingPolicy.REQUIRE_ALL),
    missing_policy_note=(
        "PRORATE (default, the User Guide's rule): interference is the mean of the answered items when at "
        "least 4 of 7 are answered; severity still needs all 4. REQUIRE_ALL: any blank invalidates its scale."
    ),
    licence=(
        "Brief Pain Inventory © Charles S. Cleeland, 1991. Not to be reproduced, modified or translated "
        "without permission; fees may apply. Only item identifiers and scoring are shipped (text=None); a "
        "licensed program may supply the wording."
    ),
    citations=(BPI_USER_GUIDE, EPPOC_BPI, SRALAB_BPI, dworkin_2008("BPI interference MCID of 1 point")),
    notes=("The unscored BPI-SF items (body diagram, treatments, % relief) are not part of this definition.",),
    not_confirmed=(
        "Severity bands for BPI scores (0-4/5-6/7-10 appear in a registry's documentation only) - not encoded.",
        "A prorating rule for the severity mean - none found; severity requires all four items.",
    ),
)
