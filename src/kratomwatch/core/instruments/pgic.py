"""Patient Global Impression of Change (PGIC), single 7-point rating.

1 = very much improved ... 4 = no change ... 7 = very much worse. Lower is better. No bands or MCID: the
rating is itself a judgement of change.
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import cite, dworkin_2008, labelled_options
from kratomwatch.core.instruments.schema import (
    Aggregation,
    InstrumentDefinition,
    Item,
    MissingPolicy,
    ScaleRule,
)

NINDS_CDE = cite(
    "NINDS Common Data Elements, Notice of Copyright: Patient Global Impression of Change Scale",
    supports=(
        "public domain; single-item measure of global improvement on a seven-point scale from "
        "1 = very much improved to 7 = very much worse"
    ),
    url=(
        "https://www.commondataelements.ninds.nih.gov/report-viewer/25166/"
        "Patient%20Global%20Impression%20of%20Change%20Scale"
    ),
)
CGI_I_LABELS = cite(
    "Hypersomnia Foundation glossary: Clinical Global Impression scales (CGI-I response options)",
    supports=(
        "intermediate labels of the 7-point improvement scale: much improved, minimally improved, no change, "
        "minimally worse, much worse (the PGIC derives from Guy's 1976 CGI-Improvement item)"
    ),
    url="https://www.hypersomniafoundation.org/glossary/clinical-global-impression-improvement-scale/",
)

DEFINITION = InstrumentDefinition(
    id="pgic",
    version="1.0",
    title="Patient Global Impression of Change (PGIC)",
    items=(
        Item(
            id="pgic",
            label="global impression of change since the start of treatment",
            options=labelled_options(
                (
                    (1, "very much improved"),
                    (2, "much improved"),
                    (3, "minimally improved"),
                    (4, "no change"),
                    (5, "minimally worse"),
                    (6, "much worse"),
                    (7, "very much worse"),
                )
            ),
        ),
    ),
    recall_period="since the start of treatment (or the reference point the program sets)",
    scales=(
        ScaleRule(
            id="rating",
            label="PGIC rating (1-7, lower is better)",
            item_ids=("pgic",),
            aggregation=Aggregation.SUM,
        ),
    ),
    primary_scale_id="rating",
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="Single item: a blank answer leaves no rating.",
    licence="Public domain (NINDS CDE notice). Prompt wording is left to the program.",
    citations=(
        NINDS_CDE,
        CGI_I_LABELS,
        dworkin_2008("PGIC as the IMMPACT core measure of participant ratings of overall improvement"),
    ),
    notes=("The rating is already a change judgement; it has no bands or MCID.",),
    not_confirmed=(
        "The exact IMMPACT mapping of PGIC categories to minimal/moderate/substantial importance (the table "
        "read was garbled) - not encoded.",
        "Guy 1976 (ECDEU Assessment Manual) itself was not read; it has no PMID or DOI.",
    ),
)
