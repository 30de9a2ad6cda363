"""Pure safety screening: medication normalization, interaction screening, legal status, product safety
and history-flag findings. Standard library only; knowledge is passed in (see kratomwatch.knowledge.loader).
The software measures, screens, flags and cites: it never recommends a kratom dose.
"""

from kratomwatch.core.screening.contraindications import MissingContraindicationRule, contraindications
from kratomwatch.core.screening.interactions import UnknownInteractionClass, screen_interactions
from kratomwatch.core.screening.legal import (
    UnknownJurisdiction,
    evaluate_product,
    legal_status,
    record_in_force,
)
from kratomwatch.core.screening.normalize import normalize_medication
from kratomwatch.core.screening.product import product_safety
from kratomwatch.core.screening.text import clean_text, strip_strengths
from kratomwatch.core.screening.types import (
    CombinationEntry,
    ContraindicationFinding,
    ContraindicationRule,
    DuplicateTerm,
    FindingText,
    HistoryFlags,
    IngredientEntry,
    InteractionFinding,
    InteractionRule,
    JurisdictionEntry,
    LegalStatusResult,
    MedicationIndex,
    MedicationMatch,
    ProductEvaluation,
    ProductFinding,
    ProductSafetyRules,
    ScreeningKnowledge,
    ScreeningResult,
    StatusRecord,
    Suggestion,
)

__all__ = [
    "CombinationEntry",
    "ContraindicationFinding",
    "ContraindicationRule",
    "DuplicateTerm",
    "FindingText",
    "HistoryFlags",
    "IngredientEntry",
    "InteractionFinding",
    "InteractionRule",
    "JurisdictionEntry",
    "LegalStatusResult",
    "MedicationIndex",
    "MedicationMatch",
    "MissingContraindicationRule",
    "ProductEvaluation",
    "ProductFinding",
    "ProductSafetyRules",
    "ScreeningKnowledge",
    "ScreeningResult",
    "StatusRecord",
    "Suggestion",
    "UnknownInteractionClass",
    "UnknownJurisdiction",
    "clean_text",
    "contraindications",
    "evaluate_product",
    "legal_status",
    "normalize_medication",
    "product_safety",
    "record_in_force",
    "screen_interactions",
    "strip_strengths",
]
