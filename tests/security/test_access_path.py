"""One access path: no adapter queries a patient-data model itself.

Web views, API routers, the command line and the demo loader ask ``kratomwatch.access`` which records a user may
see, and read an access-checked patient's data through the selector modules (``*/queries.py``). This test reads
their source (AST, no import) and fails on ``<PatientModel>.objects`` anywhere in them, outside the short,
commented allow-list below. A control shows the scanner finds what it looks for.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kratomwatch

PACKAGE = Path(kratomwatch.__file__).parent

PATIENT_MODELS = frozenset(
    {
        "Patient",
        "PatientCondition",
        "Dose",
        "DailyExposure",
        "Medication",
        "LabResult",
        "AdverseEvent",
        "Assessment",
        "Schedule",
        "Alert",
        "CarePlan",
        "TaperStep",
        "ConsentDocument",
        "ConsentRecord",
        "CareOverride",
        "Product",
        "Lot",
        # n-of-1 trials (nof1.models): read through access.get_trial_for and nof1/queries.py
        "Trial",
        "Condition",
        "Period",
    }
)

ALLOWED: dict[tuple[str, str], str] = {
    # (file relative to the package, model): why this adapter may touch the model directly.
}


def adapter_files() -> list[Path]:
    """The adapters: web pages, API routers, the CLI, the demo loader, and every app's views module."""
    files: set[Path] = set()
    for folder in ("web", "api", "cli", "demo"):
        files.update((PACKAGE / folder).rglob("*.py"))
    files.update(PACKAGE.glob("*/views.py"))
    files.update(PACKAGE.glob("cli*.py"))
    return sorted(f for f in files if "migrations" not in f.parts)


def direct_queries(source: str) -> list[tuple[int, str]]:
    """(line, model) for each ``<Model>.objects`` or ``<Model>._default_manager`` on a patient-data model."""
    return [
        (node.lineno, node.value.id)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and node.attr in ("objects", "_default_manager", "_base_manager")
        and isinstance(node.value, ast.Name)
        and node.value.id in PATIENT_MODELS
    ]


def test_the_scanner_finds_a_direct_query_and_ignores_an_access_call() -> None:
    """Control: without it, a scanner that found nothing would pass the real test."""
    leaky = "def view(request):\n    return Dose.objects.filter(patient__code=request.GET['code'])\n"
    clean = "def view(request):\n    return access.get_patient_for(request.user, 'KW-1').doses.all()\n"
    assert direct_queries(leaky) == [(2, "Dose")]
    assert direct_queries(clean) == []


def test_the_adapters_exist_where_the_scan_looks() -> None:
    names = {f.relative_to(PACKAGE).as_posix() for f in adapter_files()}
    for expected in ("web/clinician.py", "web/patient.py", "api/records.py", "api/alerts.py", "cli/__init__.py"):
        assert expected in names
    assert any(n.startswith("demo/") for n in names)


def test_no_adapter_queries_a_patient_data_model_directly() -> None:
    offences = []
    for path in adapter_files():
        rel = path.relative_to(PACKAGE).as_posix()
        for line, model in direct_queries(path.read_text(encoding="utf-8")):
            if (rel, model) not in ALLOWED:
                offences.append(f"{rel}:{line}: {model}.objects (ask kratomwatch.access or a */queries.py selector)")
    assert not offences, "\n".join(offences)


def test_the_allow_list_has_no_stale_entries() -> None:
    present = {
        (path.relative_to(PACKAGE).as_posix(), model)
        for path in adapter_files()
        for _, model in direct_queries(path.read_text(encoding="utf-8"))
    }
    assert set(ALLOWED) <= present, f"allowed but no longer there: {sorted(set(ALLOWED) - present)}"
