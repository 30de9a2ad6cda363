"""kratomwatch.core.instruments imports only the standard library and pydantic, and reads no clock or file."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import kratomwatch.core.instruments as package

PACKAGE_DIR = Path(package.__file__).parent
SOURCES = sorted(PACKAGE_DIR.glob("*.py"))
ALLOWED_THIRD_PARTY = {"pydantic"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "open", "getenv", "perf_counter", "monotonic"}


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_all_fourteen_instrument_modules_are_present() -> None:
    names = {path.stem for path in SOURCES}
    assert {
        "phq9",
        "gad7",
        "peg",
        "pain_nrs",
        "pgic",
        "bpi_sf",
        "dn4",
        "dn4_interview",
        "asrs",
        "cows",
        "sows",
        "craving_nrs",
        "sleep_nrs",
        "dsm5_sud",
        "schema",
        "scoring",
        "change",
        "parse",
        "errors",
    } <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_imports_are_stdlib_pydantic_or_the_core(path: Path) -> None:
    for name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        top = name.split(".")[0]
        allowed = top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or name.startswith("kratomwatch.core")
        assert allowed, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_clock_or_file_access(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            assert name not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {name}()"
