"""Subjective Opiate Withdrawal Scale (SOWS, Handelsman 1987): 16 symptoms rated 0-4, total 0-64.

No severity bands are encoded (none are part of the original publication read). Developed for opioid
withdrawal; use for kratom withdrawal is an extrapolation.
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import cite, labelled_options
from kratomwatch.core.instruments.schema import (
    Aggregation,
    InstrumentDefinition,
    Item,
    MissingPolicy,
    ScaleRule,
)

HANDELSMAN_1987 = cite(
    "Handelsman L, Cochrane KJ, Aronson MJ, Ness R, Rubinstein KJ, Kanof PD. Two new rating scales for "
    "opiate withdrawal. Am J Drug Alcohol Abuse 1987;13(3):293-308",
    supports="the SOWS contains 16 symptoms whose intensity the patient rates from 0 (not at all) to 4 (extremely)",
    pmid="3687892",
    url="https://typeset.io/papers/two-new-rating-scales-for-opiate-withdrawal-t1epb3fe0b",
)
EMCDDA_SOWS = cite(
    "EMCDDA drugs library: Subjective Opiate Withdrawal Scale",
    supports="self-administered; 16 symptoms rated 0 (not at all) to 4 (extremely); reference to Handelsman 1987",
    url="https://www.emcdda.europa.eu/drugs-library/subjective-opiate-withdrawal-scale_en",
)
SOWS_ITEMS_SOURCE = cite(
    "Guideline Central: Subjective Opioid Withdrawal Scale (SOWS), source Handelsman 1987",
    supports="the 16 item statements (anxious ... feel like using now)",
    url="https://www.guidelinecentral.com/calculators/2c9e8038734e3c9e017353447eea0080/",
)

_LABELS = (
    ("sows_anxious", "feels anxious"),
    ("sows_yawning", "feels like yawning"),
    ("sows_perspiring", "perspiring"),
    ("sows_eyes_tearing", "eyes tearing"),
    ("sows_nose_running", "nose running"),
    ("sows_gooseflesh", "gooseflesh"),
    ("sows_shaking", "shaking"),
    ("sows_hot_flushes", "hot flushes"),
    ("sows_cold_flushes", "cold flushes"),
    ("sows_aches", "bones and muscles ache"),
    ("sows_restless", "feels restless"),
    ("sows_nauseous", "feels nauseous"),
    ("sows_vomiting", "feels like vomiting"),
    ("sows_twitching", "muscles twitch"),
    ("sows_cramps", "stomach cramps"),
    ("sows_urge_to_use", "feels like using now"),
)
_INTENSITY = labelled_options(
    ((0, "not at all"), (1, "a little"), (2, "moderately"), (3, "quite a bit"), (4, "extremely"))
)

DEFINITION = InstrumentDefinition(
    id="sows",
    version="1.0",
    title="Subjective Opiate Withdrawal Scale (SOWS, Handelsman)",
    items=tuple(Item(id=item_id, label=label, options=_INTENSITY) for item_id, label in _LABELS),
    recall_period="right now (how the patient feels at the time of rating)",
    scales=(
        ScaleRule(
            id="total",
            label="SOWS total (0-64)",
            item_ids=tuple(item_id for item_id, _ in _LABELS),
            aggregation=Aggregation.SUM,
        ),
    ),
    primary_scale_id="total",
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="No prorating rule: all 16 items are required.",
    licence=(
        "Published in Am J Drug Alcohol Abuse (Taylor & Francis); reproductions state 'reprinted by "
        "permission of the publisher'. Item wording is not shipped (text=None); labels are paraphrases."
    ),
    citations=(HANDELSMAN_1987, EMCDDA_SOWS, SOWS_ITEMS_SOURCE),
    notes=(
        "No severity bands: some adapted forms print bands, but none were confirmed in the original paper.",
        "Developed for opioid withdrawal; applying it to kratom withdrawal is an extrapolation.",
    ),
    not_confirmed=(
        "Severity bands and an MCID for the SOWS - not encoded.",
        "The intermediate answer labels (a little, moderately, quite a bit) come from a reproduction, not "
        "from the paper; the paper's abstract names only 0 (not at all) and 4 (extremely).",
    ),
)
