"""PEG: three-item pain intensity and interference scale derived from the BPI.

Average pain, interference with enjoyment of life and with general activity, each 0-10 over the past week;
the score is the mean of the three. No validated severity bands and no MCID were confirmed, so none are
encoded (do not invent any).
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

KREBS_2009 = cite(
    "Krebs EE et al. Development and initial validation of the PEG, a three-item scale assessing pain "
    "intensity and interference. J Gen Intern Med 2009;24(6):733-738",
    supports=(
        "three items derived from the BPI: average pain intensity (P), interference with enjoyment of life "
        "(E) and with general activity (G); reliable, valid and sensitive to change"
    ),
    pmid="19418100",
    doi="10.1007/s11606-009-0981-1",
    url="https://pmc.ncbi.nlm.nih.gov/articles/PMC2686775/",
)
PEG_SCORING = cite(
    "PLUS Top Care, Assessing Analgesia and Function Tool (PEG)",
    supports=(
        "PEG score = average of the three 0-10 items; anchors 0 = no pain / does not interfere, 10 = pain as "
        "bad as you can imagine / completely interferes; recall: the past week"
    ),
    url="https://plustopcare.org/clinician-resources-and-tools/assessing-analgesia-and-function-tool",
)

_PAIN = numeric_options(0, 10, {0: "no pain", 10: "pain as bad as you can imagine"})
_INTERFERENCE = numeric_options(0, 10, {0: "does not interfere", 10: "completely interferes"})

DEFINITION = InstrumentDefinition(
    id="peg",
    version="1.0",
    title="PEG (Pain, Enjoyment of life, General activity)",
    items=(
        Item(id="peg_pain", label="pain on average", options=_PAIN),
        Item(id="peg_enjoyment", label="pain interference with enjoyment of life", options=_INTERFERENCE),
        Item(id="peg_general_activity", label="pain interference with general activity", options=_INTERFERENCE),
    ),
    recall_period="the past week",
    scales=(
        ScaleRule(
            id="score",
            label="PEG score (mean of 3 items)",
            item_ids=("peg_pain", "peg_enjoyment", "peg_general_activity"),
            aggregation=Aggregation.MEAN,
        ),
    ),
    primary_scale_id="score",
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="No published prorating rule for the PEG was found; all three items are required.",
    licence=(
        "Published open access (Krebs 2009). Item wording is derived from the copyrighted Brief Pain "
        "Inventory and its free-use status was confirmed only in secondary sources, so wording is not "
        "shipped; a program may supply it."
    ),
    citations=(KREBS_2009, PEG_SCORING),
    notes=("No severity bands: none are validated for the PEG.",),
    not_confirmed=(
        "A minimal clinically important difference for the PEG (1-2 points and 30% are quoted in secondary "
        "sources only) - not encoded.",
        "A LOINC code for the PEG score - not encoded.",
    ),
)
