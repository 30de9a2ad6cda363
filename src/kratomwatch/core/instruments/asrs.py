"""Adult ADHD Self-Report Scale v1.1 (ASRS v1.1), 18 items, past 6 months.

Answers 0 never, 1 rarely, 2 sometimes, 3 often, 4 very often. Scales:

* ``part_a_shaded`` (primary): number of Part A items (1-6) answered in the shaded range; ``screen_positive``
  at >= 4. Shading: items 1-3 from "sometimes", items 4-6 from "often".
* ``part_a_score``: continuous Part A score 0-24 (sum of items 1-6; Kessler 2007); flag ``score_14_or_more``
  at >= 14 (Kessler 2007's cut-off; reported as the primary rule of Harvard's Feb 2024 scoring update).
* ``part_b_shaded``: shaded count over Part B (items 7-18): items 9, 12, 16 and 18 from "sometimes", the
  others from "often". No total score or diagnostic likelihood is attached to Part B.

The per-item shading is graphical on the official form and could not be read there; it is encoded from
consistent secondary reproductions (see ``not_confirmed``). The form must not be altered and its licence for
software redistribution was not confirmed, so item wording is not shipped (text=None).
"""

from __future__ import annotations

from kratomwatch.core.instruments._shared import cite, labelled_options
from kratomwatch.core.instruments.schema import (
    Aggregation,
    FlagKind,
    FlagRule,
    InstrumentDefinition,
    Item,
    ItemThreshold,
    MissingPolicy,
    ScaleRule,
    ThresholdBasis,
)

KESSLER_2005 = cite(
    "Kessler RC et al. The World Health Organization Adult ADHD Self-Report Scale (ASRS): a short screening "
    "scale for use in the general population. Psychol Med 2005;35(2):245-256",
    supports="18 questions on DSM-IV criterion A symptoms; a six-question screener selected from them",
    doi="10.1017/S0033291704002892",
)
KESSLER_2007 = cite(
    "Kessler RC et al. Validity of the World Health Organization Adult ADHD Self-Report Scale (ASRS) "
    "Screener in a representative sample of health plan members. Int J Methods Psychiatr Res "
    "2007;16(2):52-65",
    supports="the six-question screener also scored as a continuous measure (reliability reported for it)",
    doi="10.1002/mpr.208",
)
ASRS_INSTRUCTIONS = cite(
    "ASRS-v1.1 Symptom Checklist instructions (reproduction of the official form text)",
    supports=(
        "Part A = the six most predictive questions; four or more marks in the darkly shaded boxes of Part A "
        "= symptoms highly consistent with adult ADHD; no total score or diagnostic likelihood for the twelve "
        "Part B questions"
    ),
    url="https://www.siya.health/form",
)
BLUEPRINT_ASRS = cite(
    "Blueprint help centre: Adult ADHD Self-Report Scale - Screener (ASRS-Screener)",
    supports=(
        "questions 1-3 positive for sometimes, often, very often; questions 4-6 positive for often, very "
        "often; 4 or more positive = positive screen; 6-month recall; never..very often"
    ),
    url="https://ebchelp.blueprint.ai/en/articles/9803045-adult-adhd-self-report-scale-screener-asrs-screener",
)
CONTINUOUS_CUTOFF = cite(
    "Journal of Attention Disorders article on ASRS cut-offs, introduction reviewing Kessler 2007 (read on the "
    "publisher's page; authors and title not recorded)",
    supports=(
        "the six-item screener's cut-offs: 4 or more on the 0-6 shaded count and 14 or more on the 0-24 "
        "continuous score (Kessler 2007)"
    ),
    doi="10.1177/1087054717735381",
)
HCP_2024 = cite(
    "Harvard Medical School NCS (HCP) ASRS v1.1 scoring update, 28 Feb 2024, as reported by two independent "
    "implementations (brightmind.club ASRS page; simplified.tools ASRS short form)",
    supports="the 0-24 Part A total with a positive screen at 14 or more, reported as the current official scoring",
    url="https://brightmind.club/asrs-5",
)
SHADING_PART_B = cite(
    "222health: How to score an 18-item ASRS",
    supports=("Part B questions 9, 12, 16 and 18 shaded from 'sometimes', the other Part B questions from 'often'"),
    url="https://222health.com/mental-health/general-mental-illness/63960.html",
)

_FREQUENCY = labelled_options(((0, "never"), (1, "rarely"), (2, "sometimes"), (3, "often"), (4, "very often")))
_SOMETIMES, _OFTEN = 2, 3

# (id, short paraphrase of the symptom area, shaded from)
_ITEMS = (
    ("asrs_1", "wrapping up final details of a project", _SOMETIMES),
    ("asrs_2", "getting things in order for an organised task", _SOMETIMES),
    ("asrs_3", "remembering appointments or obligations", _SOMETIMES),
    ("asrs_4", "avoiding or delaying tasks needing much thought", _OFTEN),
    ("asrs_5", "fidgeting when sitting a long time", _OFTEN),
    ("asrs_6", "feeling overly active, driven", _OFTEN),
    ("asrs_7", "careless mistakes on boring or difficult work", _OFTEN),
    ("asrs_8", "keeping attention on boring or repetitive work", _OFTEN),
    ("asrs_9", "concentrating on what people say", _SOMETIMES),
    ("asrs_10", "misplacing or having trouble finding things", _OFTEN),
    ("asrs_11", "distracted by activity or noise", _OFTEN),
    ("asrs_12", "leaving one's seat when expected to stay seated", _SOMETIMES),
    ("asrs_13", "feeling restless or fidgety", _OFTEN),
    ("asrs_14", "unwinding and relaxing", _OFTEN),
    ("asrs_15", "talking too much in social situations", _OFTEN),
    ("asrs_16", "finishing other people's sentences", _SOMETIMES),
    ("asrs_17", "waiting one's turn", _OFTEN),
    ("asrs_18", "interrupting others when they are busy", _SOMETIMES),
)
_PART_A = _ITEMS[:6]
_PART_B = _ITEMS[6:]

DEFINITION = InstrumentDefinition(
    id="asrs",
    version="1.1",
    title="Adult ADHD Self-Report Scale v1.1 (ASRS v1.1) Symptom Checklist",
    items=tuple(Item(id=item_id, label=label, options=_FREQUENCY) for item_id, label, _ in _ITEMS),
    recall_period="the past 6 months",
    scales=(
        ScaleRule(
            id="part_a_shaded",
            label="Part A: answers in the shaded range (0-6)",
            item_ids=tuple(item_id for item_id, _, _ in _PART_A),
            aggregation=Aggregation.COUNT_AT_OR_ABOVE,
            thresholds=tuple(ItemThreshold(item_id=i, at_or_above=t) for i, _, t in _PART_A),
        ),
        ScaleRule(
            id="part_a_score",
            label="Part A continuous score (0-24)",
            item_ids=tuple(item_id for item_id, _, _ in _PART_A),
            aggregation=Aggregation.SUM,
            note="Continuous screener score (Kessler 2007); screen at >= 14 (flag score_14_or_more).",
        ),
        ScaleRule(
            id="part_b_shaded",
            label="Part B: answers in the shaded range (0-12)",
            item_ids=tuple(item_id for item_id, _, _ in _PART_B),
            aggregation=Aggregation.COUNT_AT_OR_ABOVE,
            thresholds=tuple(ItemThreshold(item_id=i, at_or_above=t) for i, _, t in _PART_B),
            note="Additional cues only: no total score or diagnostic likelihood for Part B.",
        ),
    ),
    primary_scale_id="part_a_shaded",
    flag_rules=(
        FlagRule(
            id="screen_positive",
            label="ASRS Part A: 4 or more answers in the shaded range",
            kind=FlagKind.SCALE_AT_OR_ABOVE,
            target_id="part_a_shaded",
            at_or_above=4,
            basis=ThresholdBasis.AUTHOR_DEFINED,
            citation=ASRS_INSTRUCTIONS,
            note=(
                "The >= 4 rule is the official form's; the per-item shading it counts was confirmed in "
                "secondary reproductions only."
            ),
        ),
        FlagRule(
            id="score_14_or_more",
            label="ASRS Part A continuous score 14 or more (of 24)",
            kind=FlagKind.SCALE_AT_OR_ABOVE,
            target_id="part_a_score",
            at_or_above=14,
            basis=ThresholdBasis.VALIDATED,
            citation=CONTINUOUS_CUTOFF,
            note=(
                "Cut-off of the continuous screener from Kessler 2007 (read in a peer-reviewed review of it); the "
                "Harvard NCS scoring update of Feb 2024 is reported to make this the primary rule. It does not "
                "depend on the per-item shading."
            ),
        ),
    ),
    default_missing_policy=MissingPolicy.REQUIRE_ALL,
    supported_missing_policies=(MissingPolicy.REQUIRE_ALL,),
    missing_policy_note=(
        "No prorating rule: a blank invalidates the scale it belongs to (a blank in Part B leaves the Part A "
        "screen valid)."
    ),
    licence=(
        "ASRS v1.1 © World Health Organization / Ronald C. Kessler (reproductions also credit New York "
        "University); the form must not be altered. Redistribution terms for software were not confirmed, so "
        "only item identifiers and short paraphrased symptom labels are shipped (text=None)."
    ),
    citations=(
        KESSLER_2005,
        KESSLER_2007,
        ASRS_INSTRUCTIONS,
        BLUEPRINT_ASRS,
        SHADING_PART_B,
        CONTINUOUS_CUTOFF,
        HCP_2024,
    ),
    notes=("A screen for symptoms consistent with adult ADHD, not a diagnosis.",),
    not_confirmed=(
        "Per-item shading (items 1-3 and 9, 12, 16, 18 from 'sometimes'; the others from 'often') could not "
        "be read on the official WHO/Harvard form, whose shading is graphical; it is encoded from several "
        "consistent secondary reproductions and must be checked against the official PDF before clinical use.",
        "The four strata of the continuous score (0-9, 10-13, 14-17, 18-24; Kessler 2007's four-category version, "
        "reported as part of the Feb 2024 Harvard update) were read in one secondary source only - not encoded; "
        "only the >= 14 cut-off is.",
        "The Harvard NCS Feb 2024 scoring update itself was not read (reported by two implementations).",
        "PMIDs of Kessler 2005 and Kessler 2007 - not confirmed, cited by DOI only.",
    ),
)
