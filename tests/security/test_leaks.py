"""The leak test: every web URL pattern and every API operation, requested by each persona with the *other*
program's patient code and object ids substituted into the path, must never return that patient's data.

* anonymous: 401 (API) or a redirect to a login page (web); 405 for a GET on a POST-only page.
* bob (clinician of the other program), carol (patient P-001, also asking with her own code and foreign ids):
  no 2xx whenever a foreign value is in the path, no 5xx, and no foreign marker anywhere in any body
  (echoing back the code the request itself carried, e.g. in a 404 message, is allowed).

The researcher persona (no patient route, no identifier anywhere, the research export's ZIP scanned file by file)
is tests/security/test_researcher_leaks.py, which reuses this walk's personas, candidates and checks.

Routes are discovered at run time, so pages and endpoints added later are covered automatically. Only the
documented non-patient routes in NON_PATIENT are skipped (see docs/security.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client

from kratomwatch.accounts.models import Program
from kratomwatch.records.models import Patient
from tests.security.routes import ApiOperation, WebRoute, api_operations, build_url, combos, url_routes

NON_PATIENT = (
    "/static/",
    "/login/",
    "/logout/",
    "/favicon.ico",
    "/healthz",  # probes: {"status": ...} only, no data (kratomwatch/health.py)
    "/readyz",
    "/account/2fa/",
    "/admin/login/",
    "/admin/logout/",
    "/invite/",  # a patient's one-time invitation: no login yet; an unknown token shows only "not known"
    "/admin/jsi18n/",
    "/api/v1/health",
    "/api/v1/docs",
    "/api/v1/openapi.json",
    "/api/v1/instruments",
    "/api/v1/evidence",
    "/api/v1/legal/",
    "/api/v1/screening/",
)
# Values for non-patient path parameters, so a route is not rejected before it looks at the patient.
HINTS: dict[str, list[str]] = {"instrument_id": ["phq9", "peg"]}
MISSING_ID = "987654"


def _skip(path: str) -> bool:
    return path.startswith(NON_PATIENT)


# ---- seeding foreign data ------------------------------------------------------------------------------------


def _seed(world: Any, system: Any) -> list[str]:
    """Give each program's patient a dose, medication, lab, adverse event and assessment carrying a marker.
    Each step is independent so a concurrent change to one action does not blind the whole test."""
    from kratomwatch.records import actions

    done: list[str] = []
    q_product = actions.create_product(
        actor=system, program=world.other_program, vendor="V", name="MARKERQ product", form="leaf_powder"
    )
    q_lot = actions.create_lot(
        actor=system, product=q_product, lot_code="QL1", certificate=actions.CertificateIn("mg/g", 15.0, 0.2)
    )
    day = world.now.date() - dt.timedelta(days=2)
    for patient, lot, mark in (
        (world.patient, world.leaf_cert_lot, "MARKERP"),
        (world.foreign_patient, q_lot, "MARKERQ"),
    ):
        steps = {
            "dose": lambda p=patient, lot=lot: actions.record_dose(
                actor=system,
                patient=p,
                dose=actions.DoseIn(p.code, lot.pk, world.now - dt.timedelta(days=1), 2.0, "g"),
                now=world.now,
            ),
            "medication": lambda p=patient, m=mark: actions.record_medication(
                actor=system, patient=p, name=f"{m}-med", dose_text=f"{m} 5 mg"
            ),
            "lab": lambda p=patient: actions.record_lab(
                actor=system,
                patient=p,
                test="alt",
                value=31.0,
                unit="U/L",
                upper_limit_normal=40.0,
                taken_at=world.now - dt.timedelta(days=3),
                now=world.now,
            ),
            "adverse_event": lambda p=patient: actions.record_adverse_event(
                actor=system, patient=p, term="nausea", onset=day, grade=1, today=world.now.date()
            ),
            "assessment": lambda p=patient: _assessment(system, p, world.now),
        }
        for name, step in steps.items():
            try:
                step()
                done.append(f"{patient.code}:{name}")
            except Exception as exc:  # a concurrent change elsewhere; the walk still covers what exists
                print(f"seed {patient.code}:{name} skipped: {exc!r}")
    return done


def _assessment(system: Any, patient: Patient, now: dt.datetime) -> Any:
    from kratomwatch.assessments import actions

    return actions.record_assessment(
        actor=system,
        patient=patient,
        instrument_id="peg",
        answers=[5, 5, 5],
        administered_at=now - dt.timedelta(days=1),
        source="self_report",
        now=now,
    )


# ---- who owns what ---------------------------------------------------------------------------------------------


def _owner_lookup(model: type[models.Model], depth: int = 0) -> tuple[str, type[models.Model]] | None:
    """A lookup from ``model`` to Patient or Program (directly or one hop away), e.g. ``product__program``."""
    if model is Patient:
        return "pk", Patient
    if model is Program:
        return "pk", Program
    fks = [f for f in model._meta.get_fields() if isinstance(f, models.ForeignKey)]
    for f in fks:
        if f.related_model is Patient:
            return f"{f.name}__pk", Patient
    for f in fks:
        if f.related_model is Program:
            return f"{f.name}__pk", Program
    if depth == 0:
        for f in fks:
            related = f.related_model
            if isinstance(related, type) and related._meta.app_label.startswith(("records", "assessments", "consent")):
                inner = _owner_lookup(related, 1)
                if inner is not None:
                    return f"{f.name}__{inner[0]}", inner[1]
    return None


def _project_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m.__module__.startswith("kratomwatch.")]


@dataclass
class Persona:
    name: str
    user: Any
    token: str | None
    foreign_patient: Patient
    foreign_program: Program
    own_codes: list[str]
    markers: list[str]
    ids_by_model: dict[str, list[str]] = field(default_factory=dict)
    any_foreign_ids: list[str] = field(default_factory=list)

    def collect(self) -> None:
        for model in _project_models():
            owner = _owner_lookup(model)
            if owner is None:
                continue
            lookup, target = owner
            value = self.foreign_patient.pk if target is Patient else self.foreign_program.pk
            pks = [str(pk) for pk in model._default_manager.filter(**{lookup: value}).values_list("pk", flat=True)[:3]]
            self.ids_by_model[model._meta.model_name] = pks
            self.any_foreign_ids.extend(pks[:1])
        self.any_foreign_ids = [*sorted(set(self.any_foreign_ids), key=int)[:10], MISSING_ID]

    def candidates(self, name: str, kind: str, choices: tuple[str, ...], many: bool) -> list[tuple[str, bool]]:
        """(value, is_foreign) pairs for one path parameter."""
        if choices:
            return [(c, False) for c in choices[:4]]
        stem = name[:-3].replace("_", "") if name.endswith("_id") else ""
        if stem:
            mapped = [pks for model, pks in self.ids_by_model.items() if model == stem or model.endswith(stem)]
            if mapped:
                ids = sorted({pk for pks in mapped for pk in pks}) or [MISSING_ID]
                return [(pk, True) for pk in ids]
        if kind == "str" and (name in ("code", "patient_code") or name.endswith("_code")):
            own = [(c, False) for c in self.own_codes] if many else []
            return [(self.foreign_patient.code, True), *own]
        hints = [(h, False) for h in HINTS.get(name, [])]
        generic = [(pk, False) for pk in self.any_foreign_ids]
        if kind == "str":
            return [*hints, (self.foreign_patient.code, True), *generic]
        return [*hints, *generic]


def _personas(world: Any) -> dict[str, Persona]:
    personas = {
        "anonymous": Persona("anonymous", None, None, world.foreign_patient, world.other_program, [], ["MARKERQ"]),
        "bob": Persona("bob", world.bob, world.tokens["bob"], world.patient, world.program, ["Q-001"], ["MARKERP"]),
        "carol": Persona(
            "carol", world.carol, world.tokens["carol"], world.foreign_patient, world.other_program, ["P-001"], []
        ),
    }
    personas["bob"].markers.append("P-001")
    personas["carol"].markers += ["MARKERQ", "Q-001"]
    personas["anonymous"].markers += ["Q-001", "P-001", "MARKERP"]
    for p in personas.values():
        p.collect()
    return personas


# ---- the check ---------------------------------------------------------------------------------------------------


def _problem(persona: Persona, method: str, url: str, response: Any, foreign: bool, api: bool) -> str | None:
    status = response.status_code
    body = b"".join(response) if response.streaming else response.content
    text = body.decode("utf-8", errors="ignore")
    where = f"{persona.name} {method} {url} -> {status}"
    if status >= 500:
        return f"{where}: server error"
    if persona.user is None:
        location = response.get("Location", "")
        if api and status != 401 and not (method == "GET*" and status in (404, 405)):
            return f"{where}: anonymous API request not refused with 401"
        if not api and not (status in (301, 302, 303) and "login" in location) and status not in (401, 403, 405):
            return f"{where}: anonymous page neither redirected to login nor refused"
    if foreign and 200 <= status < 300:
        return f"{where}: 2xx for another program's patient"
    leaked = [m for m in persona.markers if m in text and m not in url]
    if leaked:
        return f"{where}: body contains foreign data {leaked}"
    return None


def web_requests(persona: Persona) -> Iterator[tuple[WebRoute, str, bool, Any]]:
    """A GET of every web URL pattern by ``persona`` with its candidate path values (not only its own codes):
    (route, url, whether a foreign value is in the path, response)."""
    web = Client()
    if persona.user is not None:
        web.force_login(persona.user)
    for route in url_routes():
        many = len(route.params) > 1
        options = [persona.candidates(p.name, p.kind, p.choices, many) for p in route.params]
        for combo in combos(options):
            if route.params and persona.own_codes and all(v in persona.own_codes for v, _ in combo):
                continue
            values = {p.name: v for p, (v, _) in zip(route.params, combo, strict=True)}
            url = build_url(route, values)
            if url is None or _skip(url):
                continue
            yield route, url, any(is_foreign for _, is_foreign in combo), web.get(url)


def api_requests(persona: Persona) -> Iterator[tuple[ApiOperation, str, bool, Any]]:
    """Every API operation requested by ``persona`` (bearer token; an empty JSON body for a write) with its candidate
    path values (not only its own codes): (operation, url, whether a foreign value is in the path, response)."""
    api = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {persona.token}"} if persona.token else {}
    for op in api_operations():
        if _skip(op.path):
            continue
        many = len(op.path_params) > 1
        options = [persona.candidates(n, k, (), many) for n, k in zip(op.path_params, op.path_kinds, strict=True)]
        for combo in combos(options):
            url = op.path
            for name, (value, _) in zip(op.path_params, combo, strict=True):
                url = url.replace("{" + name + "}", value)
            if persona.own_codes and op.path_params and all(v in persona.own_codes for v, _ in combo):
                continue
            kwargs: dict[str, Any] = dict(headers)
            if op.method != "GET":
                kwargs.update(data="{}", content_type="application/json")
            yield op, url, any(is_foreign for _, is_foreign in combo), api.generic(op.method, url, **kwargs)


@pytest.mark.parametrize("who", ["anonymous", "bob", "carol"])
def test_no_route_leaks_another_programs_patient(world: Any, system: Any, who: str) -> None:
    seeded = _seed(world, system)
    assert len(seeded) >= 4, seeded
    persona = _personas(world)[who]
    problems: list[str] = []
    checked = 0

    for _, url, foreign, response in web_requests(persona):
        checked += 1
        # "GET*": a GET on an API path found in the URL walk (the operation may be POST-only: 405 is fine).
        problem = _problem(persona, "GET*", url, response, foreign, url.startswith("/api/"))
        if problem:
            problems.append(problem)

    for op, url, foreign, response in api_requests(persona):
        checked += 1
        problem = _problem(persona, op.method, url, response, foreign, True)
        if problem:
            problems.append(problem)

    assert checked > 50, checked
    assert not problems, "\n".join(problems)


def test_control_own_clinician_sees_the_markers(world: Any, system: Any) -> None:
    """The markers are real: alice (same program) does get P-001's data, so their absence above means something."""
    _seed(world, system)
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.tokens['alice']}"}
    assert "P-001" in client.get("/api/v1/patients/P-001", **headers).content.decode()
    meds = client.get("/api/v1/patients/P-001/medications", **headers)
    assert meds.status_code == 200 and "MARKERP" in meds.content.decode()
