"""The one loader for curated knowledge files. Validates on load; results are cached per process."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from kratomwatch.knowledge.schemas import LeafReference

M = TypeVar("M", bound=BaseModel)


class KnowledgeError(Exception):
    """A curated data file is missing or does not match its schema."""


def read_yaml(name: str) -> Any:
    """Read ``knowledge/data/<name>`` from the installed package."""
    path = resources.files("kratomwatch.knowledge").joinpath("data", name)
    try:
        with path.open("r", encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise KnowledgeError(f"knowledge file {name!r} is missing") from exc


def load_model(name: str, model: type[M]) -> M:
    """Load one YAML file as one validated record."""
    try:
        return model.model_validate(read_yaml(name))
    except ValidationError as exc:
        raise KnowledgeError(f"{name}: {exc}") from exc


def load_records(name: str, model: type[M], key: str = "records") -> tuple[M, ...]:
    """Load a YAML file of the form ``{records: [...]}`` as validated records."""
    data = read_yaml(name)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise KnowledgeError(f"{name}: expected a mapping with a {key!r} list")
    out: list[M] = []
    for index, item in enumerate(data[key]):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            raise KnowledgeError(f"{name}: record {index}: {exc}") from exc
    return tuple(out)


@functools.cache
def leaf_reference() -> LeafReference:
    return load_model("leaf_reference.yaml", LeafReference)


def validate_all() -> list[str]:
    """Load every knowledge file; return the names loaded. Raises KnowledgeError on the first bad file."""
    leaf_reference()
    return ["leaf_reference.yaml"]
