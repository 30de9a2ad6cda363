"""Enumerate every web URL pattern (recursively) and every API operation (from the OpenAPI schema), and
build concrete URLs from candidate parameter values. Data-driven: routes added later are picked up."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

_ROUTE_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>\w+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*)\)")
_API_PARAM = re.compile(r"\{(?P<name>\w+)\}")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "int" or "str"
    choices: tuple[str, ...] = ()  # literal alternatives from a regex group, if any


@dataclass
class WebRoute:
    template: str  # parts joined; regex parts kept as regex
    params: list[Param]
    callback: Callable[..., Any]
    parts: list[Any] = field(default_factory=list)


def _params_of(pattern: Any) -> list[Param]:
    text = str(pattern)
    if text.startswith("^") or "(?P<" in text:
        out = []
        for m in _REGEX_PARAM.finditer(text):
            body = m.group("body")
            literal = body.split("|") if re.fullmatch(r"[\w|-]+", body) else []
            kind = "int" if body in (r"\d+", "[0-9]+") else "str"
            out.append(Param(m.group("name"), kind, tuple(literal)))
        return out
    return [Param(m.group("name"), "int" if m.group("conv") == "int" else "str") for m in _ROUTE_PARAM.finditer(text)]


def url_routes() -> list[WebRoute]:
    routes: list[WebRoute] = []

    def walk(patterns: Iterable[Any], parts: list[Any]) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, [*parts, p.pattern])
            elif isinstance(p, URLPattern):
                chain = [*parts, p.pattern]
                params = [param for part in chain for param in _params_of(part)]
                template = "".join(str(part) for part in chain)
                routes.append(WebRoute(template, params, p.callback, chain))

    walk(get_resolver().url_patterns, [])
    return routes


def build_url(route: WebRoute, values: dict[str, str]) -> str | None:
    """A concrete path for ``route`` with ``values``, or None if it cannot be built or resolves elsewhere."""
    out = ""
    for part in route.parts:
        text = str(part)
        if text.startswith("^") or "(?P<" in text:
            text = _REGEX_PARAM.sub(lambda m: values[m.group("name")], text).lstrip("^").rstrip("$")
            if re.search(r"[\\()\[\]*+?$^|]", text):
                return None
        else:
            text = _ROUTE_PARAM.sub(lambda m: values[m.group("name")], text)
        out += text
    path = "/" + out
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return path if match.func is route.callback else None


@dataclass(frozen=True)
class ApiOperation:
    method: str
    path: str  # e.g. /api/v1/patients/{code}
    path_params: tuple[str, ...]
    path_kinds: tuple[str, ...]
    query_params: tuple[str, ...]


def api_operations() -> list[ApiOperation]:
    from kratomwatch.api.app import api

    schema = api.get_openapi_schema()
    ops = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            params = op.get("parameters", [])
            kinds = {p["name"]: p.get("schema", {}).get("type", "string") for p in params if p["in"] == "path"}
            names = tuple(m.group("name") for m in _API_PARAM.finditer(path))
            ops.append(
                ApiOperation(
                    method=method.upper(),
                    path=path,
                    path_params=names,
                    path_kinds=tuple("int" if kinds.get(n) == "integer" else "str" for n in names),
                    query_params=tuple(p["name"] for p in params if p["in"] == "query"),
                )
            )
    return ops


def combos(candidates: Sequence[Sequence[str]], limit: int = 16) -> list[tuple[str, ...]]:
    return list(itertools.islice(itertools.product(*candidates), limit))
