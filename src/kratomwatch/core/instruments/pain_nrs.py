"""Pain intensity numeric rating scale, 0-10 (single item).

LOINC 72514-3 (Pain severity - 0-10 verbal numeric rating [Score] - Reported). IMMPACT percent-reduction
categories apply to this scale (see change.py). No severity bands are encoded.
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import cite, dworkin_2008, numeric_options
from kratomwatch.core.instruments.schema import (
    Aggregation,
    InstrumentDefinition,
    Item,
    MissingPolicy,
    ScaleRule,
)

HL7_BE_PAIN_SCALE = cite(
    "HL7 Belgium Patient Monitoring IG, ValueSet 'Pain severity - 0-10 verbal numeric rating'",
    supports=("LOINC 72514-3 is the 0-10 pain severity rating; 0 is no pain and 10 is the worst pain imaginable"),
    url="https://build.fhir.org/ig/hl7-be/patient-monitoring/ValueSet-pain-scale.html",
)

DEFINITION = InstrumentDefinition(
    id="pain_nrs",
    version="1.0",
    title="Pain intensity numeric rating scale (0-10)",
    items=(
        Item(
            id="pain_intensity",
            label="pain intensity",
            options=numeric_options(0, 10, {0: "no pain", 10: "worst pain imaginable"}),
            loinc="72514-3",
        ),
    ),
    recall_period="as administered (current pain unless the program sets another period)",
    scales=(
        ScaleRule(
            id="score",
            label="pain intensity (0-10)",
            item_ids=("pain_intensity",),
            aggregation=Aggregation.SUM,
            immpact_pain_intensity=True,
            loinc="72514-3",
        ),
    ),
    primary_scale_id="score",
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note="Single item: a blank answer leaves no score.",
    licence="Generic 0-10 numeric rating; no licence restriction known. Prompt wording is left to the program.",
    citations=(
        HL7_BE_PAIN_SCALE,
        dworkin_2008(
            "0-10 numerical rating scale as the pain-intensity outcome; percent decreases of 10-20% minimally, "
            ">= 30% moderately and >= 50% substantially important"
        ),
    ),
    notes=("No severity bands are encoded; change is interpreted with the IMMPACT percent categories.",),
)
