"""Program administration pages: the product catalogue (products, lots and their lab certificates, recalls),
the program's users and roles, and the program's settings (alert thresholds and dose defaults).

The same access checks and actions as the API (``api/records.py`` products and lots, ``api/accounts.py`` program
users, ``api/alerts.py`` rule config): a program admin of the program, or staff (``access.require_care_role(
admin=True)``); anyone else gets 403. Writes go through ``records.actions``, ``accounts.actions`` and
``alerts.actions.set_rule_config``. Errors are shown next to the field in words an admin uses (HTTP 400) and
save nothing. Patients are not added here: they are enrolled and invited from the clinic's patient pages.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from kratomwatch import access
from kratomwatch.accounts import actions as account_actions
from kratomwatch.accounts import program_settings
from kratomwatch.accounts.models import Membership, Program, Role
from kratomwatch.alerts import actions as alert_actions
from kratomwatch.audit.log import Actor
from kratomwatch.core.errors import Conflict, InputError, NotFound
from kratomwatch.core.units import ContentUnit, Form
from kratomwatch.records import actions as record_actions
from kratomwatch.records.models import Lot
from kratomwatch.web.security import login_and_access

FORM_LABELS: dict[str, str] = {
    Form.LEAF_POWDER: "Leaf powder",
    Form.CRUSHED_LEAF: "Crushed leaf",
    Form.CAPSULE: "Capsules",
    Form.TABLET: "Tablets",
    Form.LIQUID_EXTRACT: "Liquid extract (shot)",
    Form.RESIN: "Resin",
    Form.SEVEN_OH_PRODUCT: "7-OH product",
    Form.OTHER: "Other",
}
CONTENT_UNIT_LABELS: dict[str, str] = {
    ContentUnit.PER_G: "mg per gram",
    ContentUnit.PER_ML: "mg per mL",
    ContentUnit.PER_UNIT: "mg per capsule or tablet",
}
ROLE_LABELS: dict[str, str] = dict(Role.choices)
SETTING_LABELS: dict[str, str] = {
    "escalation_ratio": "Escalation ratio (7-day mean / 28-day baseline)",
    "min_baseline_mg": "Smallest baseline judged (mg per day)",
    "gap_shrink_fraction": "Shorter gaps between doses (fraction)",
    "first_dose_earlier_minutes": "First dose earlier by (minutes)",
    "sows_rise_points": "SOWS rise (points)",
    "no_benefit_weeks": "Weeks before pain benefit is judged",
    "no_benefit_percent": "Pain reduction that counts as benefit (%)",
    "missed_followup_grace_days": "Assessment grace days",
    "missed_followup_moderate_days": "Days overdue before a missed follow-up is moderate",
    "seven_oh_cap_percent": "7-OH cap (% of total alkaloids)",
    "grams_per_teaspoon": "Grams per level teaspoon",
    "grams_per_teaspoon_low": "Grams per teaspoon, low end of range",
    "grams_per_teaspoon_high": "Grams per teaspoon, high end of range",
}
FIELD_WORDS: dict[str, str] = {
    "vendor": "Vendor",
    "name": "Product name",
    "form": "Form",
    "product_id": "Product",
    "lot_code": "Lot code",
    "content_unit": "Certificate content per",
    "mitragynine": "Mitragynine",
    "seven_oh": "7-OH",
    "lab_name": "Lab name",
    "test_date": "Certificate date",
    "unit_mass_mg": "Mass of one capsule or tablet",
    "grams_per_teaspoon": "Grams per teaspoon",
    "username": "Login name",
    "password": "Password",
    "role": "Role",
}


def _admin_programs(user: Any) -> list[Program]:
    """The programs this user administers (staff: every program)."""
    out = []
    for program in access.programs_for(user).order_by("name"):
        try:
            access.require_care_role(user, program, admin=True)
        except access.Forbidden:
            continue
        out.append(program)
    return out


def _program(request: HttpRequest) -> tuple[Program, list[Program]]:
    """The program the page is about (``?program=`` or the form's ``program``; else the first administered)."""
    programs = _admin_programs(request.user)
    if not programs:
        raise PermissionDenied("program administration is for the program's admins")
    raw = str(request.POST.get("program") or request.GET.get("program") or "")
    if not raw:
        return programs[0], programs
    chosen = next((p for p in programs if str(p.pk) == raw), None)
    if chosen is None:
        raise PermissionDenied("you are not an admin of this program")
    return chosen, programs


def _back(name: str, program: Program, anchor: str = "") -> HttpResponse:
    return redirect(f"{reverse(name)}?program={program.pk}{anchor}")


def _words(field: str, message: str) -> str:
    """An action's message in the admin's words: internal names (``seven_oh``, ``grams_per_teaspoon_low``) become
    their labels; the message then starts with a capital letter."""
    text = message
    names = sorted({**FIELD_WORDS, **SETTING_LABELS}.items(), key=lambda kv: -len(kv[0]))
    for internal, words in names:
        if "_" in internal:
            text = re.sub(rf"\b{internal}\b", words.lower(), text)
    return text[:1].upper() + text[1:]


def _number(post: Any, name: str, errors: dict[str, str], *, required: bool = False) -> float | None:
    raw = str(post.get(name, "")).strip().replace(",", ".")
    if not raw:
        if required:
            errors[name] = "Enter a number."
        return None
    try:
        value = float(raw)
    except ValueError:
        errors[name] = f"{raw!r} is not a number."
        return None
    if not math.isfinite(value) or value < 0:
        errors[name] = "Enter a number of 0 or more."
        return None
    return value


# --- home --------------------------------------------------------------------------------------------------------


@login_and_access
def program_home(request: HttpRequest) -> HttpResponse:
    programs = _admin_programs(request.user)
    if not programs:
        raise PermissionDenied("program administration is for the program's admins")
    return render(request, "web/program/home.html", {"programs": programs})


# --- products and lots -------------------------------------------------------------------------------------------


def _products_context(program: Program, programs: list[Program], user: Any, **extra: Any) -> dict[str, Any]:
    products = list(access.products_for(user, program.pk))
    lots: dict[int, list[Lot]] = {}
    for lot in access.lots_for(user, program_id=program.pk):
        lots.setdefault(lot.product_id, []).append(lot)
    values = {"form": "", "product_id": "", "content_unit": ContentUnit.PER_G.value}
    return {
        "program": program,
        "programs": programs,
        "products": [
            {"product": p, "form": FORM_LABELS.get(p.form, p.form), "lots": lots.get(p.pk, [])} for p in products
        ],
        "forms": list(FORM_LABELS.items()),
        "content_units": list(CONTENT_UNIT_LABELS.items()),
        "errors": {},
        "form_name": "",
        "v": values | extra.pop("v", {}),
        **extra,
    }


def _add_product(request: HttpRequest, program: Program) -> dict[str, str]:
    post = request.POST
    errors: dict[str, str] = {}
    vendor, name, form = (str(post.get(k, "")).strip() for k in ("vendor", "name", "form"))
    if not vendor:
        errors["vendor"] = "Enter the vendor (the brand or shop)."
    if not name:
        errors["name"] = "Enter the product name."
    if form not in FORM_LABELS:
        errors["form"] = "Choose the product's form."
    if errors:
        return errors
    try:
        product = record_actions.create_product(
            actor=Actor.of(request.user), program=program, vendor=vendor, name=name, form=form
        )
    except (InputError, Conflict) as exc:
        return {exc.field if exc.field in ("vendor", "name", "form") else "name": _words(exc.field, exc.message)}
    messages.success(request, f"Added {product.vendor} {product.name}.")
    return {}


def _certificate(post: Any, errors: dict[str, str]) -> record_actions.CertificateIn | None:
    mitragynine = _number(post, "mitragynine", errors)
    seven_oh = _number(post, "seven_oh", errors)
    unit = str(post.get("content_unit", ""))
    lab = str(post.get("lab_name", "")).strip()
    raw_date = str(post.get("test_date", "")).strip()
    test_date = None
    if raw_date:
        try:
            test_date = dt.date.fromisoformat(raw_date)
        except ValueError:
            errors["test_date"] = "Enter the certificate date as a date, e.g. 2026-11-30."
    given = any(str(post.get(k, "")).strip() for k in ("mitragynine", "seven_oh", "lab_name", "test_date"))
    if not given:
        return None  # no certificate: potency stays estimated or unknown
    if mitragynine is None and "mitragynine" not in errors:
        errors["mitragynine"] = "Enter the mitragynine content from the certificate."
    if seven_oh is None and "seven_oh" not in errors:
        errors["seven_oh"] = "Enter the 7-OH content from the certificate (0 if none was found)."
    if unit not in CONTENT_UNIT_LABELS:
        errors["content_unit"] = "Choose what the certificate's content is per."
    if errors or mitragynine is None or seven_oh is None:
        return None
    return record_actions.CertificateIn(unit, mitragynine, seven_oh, lab_name=lab, test_date=test_date)


def _add_lot(request: HttpRequest, program: Program) -> dict[str, str]:
    post = request.POST
    errors: dict[str, str] = {}
    product = None
    raw_product = str(post.get("product_id", ""))
    if raw_product.isdigit():
        product = access.products_for(request.user, program.pk).filter(pk=int(raw_product)).first()
    if product is None:
        errors["product_id"] = "Choose the product this lot belongs to."
    lot_code = str(post.get("lot_code", "")).strip()
    if not lot_code:
        errors["lot_code"] = "Enter the lot code printed on the package."
    certificate = _certificate(post, errors)
    unit_mass = _number(post, "unit_mass_mg", errors)
    per_tsp = _number(post, "grams_per_teaspoon", errors)
    if errors or product is None:
        return errors
    try:
        record_actions.create_lot(
            actor=Actor.of(request.user),
            product=product,
            lot_code=lot_code,
            certificate=certificate,
            unit_mass_mg=unit_mass or None,
            grams_per_teaspoon=per_tsp or None,
            recalled=post.get("recalled") == "on",
        )
    except (InputError, Conflict) as exc:
        field = exc.field if exc.field in FIELD_WORDS else "lot_code"
        return {field: _words(exc.field, exc.message)}
    messages.success(request, f"Added lot {lot_code} of {product.vendor} {product.name}.")
    return {}


def _recall(request: HttpRequest, program: Program) -> str:
    raw = str(request.POST.get("lot_id", ""))
    lot = access.get_lot_for(request.user, int(raw)) if raw.isdigit() else None
    if lot is None or lot.product.program_id != program.pk:
        raise NotFound("lot_id", raw, "lot not found")
    certificate = None
    if lot.cert_content_unit and lot.cert_mitragynine is not None and lot.cert_seven_oh is not None:
        certificate = record_actions.CertificateIn(
            lot.cert_content_unit,
            lot.cert_mitragynine,
            lot.cert_seven_oh,
            dict(lot.cert_other_alkaloids or {}),
            lot.cert_lab_name,
            lot.cert_test_date,
        )
    recalled = request.POST.get("recalled") != "no"
    _, count = record_actions.update_lot(
        actor=Actor.of(request.user),
        lot=lot,
        certificate=certificate,
        unit_mass_mg=lot.unit_mass_mg,
        grams_per_teaspoon=lot.grams_per_teaspoon,
        recalled=recalled,
    )
    state = "marked recalled" if recalled else "no longer marked recalled"
    return f"Lot {lot.lot_code} {state}; {count} dose{'' if count == 1 else 's'} of it re-checked."


@login_and_access
@require_http_methods(["GET", "POST"])
def program_products(request: HttpRequest) -> HttpResponse:
    program, programs = _program(request)
    if request.method == "POST":
        form_name = str(request.POST.get("form_name", ""))
        if form_name == "recall":
            messages.success(request, _recall(request, program))
            return _back("program-products", program, "#lots")
        errors = _add_product(request, program) if form_name == "product" else _add_lot(request, program)
        if not errors:
            return _back("program-products", program)
        v = {k: str(request.POST.get(k, "")) for k in (*FIELD_WORDS, "recalled")}
        ctx = _products_context(program, programs, request.user, errors=errors, form_name=form_name, v=v)
        return render(request, "web/program/products.html", ctx, status=400)
    return render(request, "web/program/products.html", _products_context(program, programs, request.user))


# --- users and roles ---------------------------------------------------------------------------------------------


def _users_context(program: Program, programs: list[Program], user: Any, **extra: Any) -> dict[str, Any]:
    rows: dict[int, dict[str, Any]] = {}
    for m in Membership.objects.filter(program=program).select_related("user").order_by("user__username"):
        row = rows.setdefault(m.user_id, {"user": m.user, "roles": [], "is_me": m.user_id == user.pk})
        row["roles"].append(m.role)
    members = [r | {"labels": ", ".join(ROLE_LABELS.get(x, x) for x in r["roles"])} for r in rows.values()]
    patient_logins = access.patients_for(user).filter(program=program, user__isnull=False).count()
    return {
        "program": program,
        "programs": programs,
        "members": members,
        "roles": list(ROLE_LABELS.items()),
        "patient_logins": patient_logins,
        "errors": {},
        "v": {"username": "", "role": Role.CLINICIAN.value},
        **extra,
    }


def _add_user(request: HttpRequest, program: Program) -> dict[str, str]:
    post = request.POST
    username = str(post.get("username", "")).strip()
    password = str(post.get("password", ""))
    role = str(post.get("role", ""))
    errors: dict[str, str] = {}
    if len(username) < 2:
        errors["username"] = "Enter a login name of at least 2 characters."
    if len(password) < 10:
        errors["password"] = "Enter a password of at least 10 characters."  # noqa: S105 - a message, not a password
    if role not in ROLE_LABELS:
        errors["role"] = "Choose a role. Patients are invited from their patient page."
    if errors:
        return errors
    try:
        account_actions.create_user(
            actor=Actor.of(request.user), username=username, password=password, role=role, program_slug=program.slug
        )
    except (InputError, Conflict) as exc:
        field = exc.field if exc.field in ("username", "password", "role") else "username"
        return {field: _words(exc.field, exc.message)}
    messages.success(request, f"Added {username} as {ROLE_LABELS[role].lower()}.")
    return {}


def _member_change(request: HttpRequest, program: Program) -> str:
    raw = str(request.POST.get("user_id", ""))
    if not raw.isdigit():
        raise NotFound("user_id", raw, "user not found")
    user_id = int(raw)
    if user_id == request.user.pk:
        raise InputError("user_id", raw, "You cannot change or remove your own role here: ask another program admin.")
    if request.POST.get("form_name") == "remove":
        account_actions.remove_membership(actor=Actor.of(request.user), program=program, user_id=user_id)
        return "Role removed. The account and its history are kept."
    role = str(request.POST.get("role", ""))
    if role not in ROLE_LABELS:
        raise InputError("role", role, "Choose a role.")
    account_actions.change_role(actor=Actor.of(request.user), program=program, user_id=user_id, role=role)
    return f"Role changed to {ROLE_LABELS[role].lower()}."


@login_and_access
@require_http_methods(["GET", "POST"])
def program_users(request: HttpRequest) -> HttpResponse:
    program, programs = _program(request)
    if request.method == "POST":
        if request.POST.get("form_name") == "add":
            errors = _add_user(request, program)
            if not errors:
                return _back("program-users", program)
            v = {"username": str(request.POST.get("username", "")), "role": str(request.POST.get("role", ""))}
            ctx = _users_context(program, programs, request.user, errors=errors, v=v)
            return render(request, "web/program/users.html", ctx, status=400)
        try:
            messages.success(request, _member_change(request, program))
        except NotFound:
            raise
        except InputError as exc:
            ctx = _users_context(program, programs, request.user, member_error=exc.message)
            return render(request, "web/program/users.html", ctx, status=400)
        return _back("program-users", program)
    return render(request, "web/program/users.html", _users_context(program, programs, request.user))


# --- settings ----------------------------------------------------------------------------------------------------


def _settings_rows(program: Program, submitted: dict[str, str] | None = None) -> list[dict[str, Any]]:
    row = program_settings.stored(program.pk)
    overrides = dict(row.overrides) if row is not None else {}
    env = program_settings.environment_defaults()
    rows = []
    for d in program_settings.describe(program_settings.apply(overrides), overrides):
        name = d["name"]
        if d["overridden"]:
            origin = "program's choice"
        elif name in env:
            origin = "deployment default"
        else:
            origin = "built-in default"
        rows.append(
            d
            | {
                "label": SETTING_LABELS.get(name, name.replace("_", " ")),
                "origin": origin,
                "shown": submitted.get(name, f"{d['value']:g}") if submitted else f"{d['value']:g}",
                "default_text": f"{d['default']:g}",
            }
        )
    return rows


def _settings_context(program: Program, programs: list[Program], **extra: Any) -> dict[str, Any]:
    row = program_settings.stored(program.pk)
    return {
        "program": program,
        "programs": programs,
        "rows": _settings_rows(program, extra.pop("submitted", None)),
        "updated": row,
        "errors": {},
        **extra,
    }


def _parse_settings(post: Any, program: Program) -> tuple[dict[str, float | int], dict[str, str]]:
    """The overrides to store: every setting whose submitted value differs from the default, and every one the
    admin asked to keep as the program's choice. "Use the default" clears an override."""
    base = program_settings.defaults()
    errors: dict[str, str] = {}
    out: dict[str, float | int] = {}
    for name in program_settings.FIELDS:
        if post.get(f"default_{name}") == "on":
            continue
        value = _number(post, name, errors, required=True)
        if value is None:
            continue
        if isinstance(getattr(base, name), int) and not isinstance(getattr(base, name), bool):
            if not value.is_integer():
                errors[name] = "Enter a whole number."
                continue
            out[name] = int(value)
        else:
            out[name] = value
    default = {n: getattr(base, n) for n in program_settings.FIELDS}
    stored = program_settings.stored(program.pk)
    kept = set(stored.overrides) if stored is not None else set()
    return {n: v for n, v in out.items() if v != default[n] or n in kept}, errors


@login_and_access
@require_http_methods(["GET", "POST"])
def program_settings_page(request: HttpRequest) -> HttpResponse:
    program, programs = _program(request)
    if request.method == "POST":
        overrides, errors = _parse_settings(request.POST, program)
        submitted = {n: str(request.POST.get(n, "")) for n in program_settings.FIELDS}
        if not errors:
            row = program_settings.stored(program.pk)
            before = dict(row.overrides) if row is not None else {}
            try:
                alert_actions.set_rule_config(actor=Actor.of(request.user), program=program, overrides=overrides)
            except InputError as exc:
                errors[exc.field if exc.field in program_settings.FIELDS else "form"] = _words(exc.field, exc.message)
            else:
                changed = [n for n in {*before, *overrides} if before.get(n) != overrides.get(n)]
                if changed:
                    patients = access.patients_for(request.user).filter(program=program).count()
                    names = ", ".join(SETTING_LABELS.get(n, n) for n in sorted(changed))
                    messages.success(
                        request,
                        f"Saved ({names}). {patients} patient{'' if patients == 1 else 's'} re-evaluated "
                        "with the new settings.",
                    )
                else:
                    messages.info(request, "Nothing changed.")
                return _back("program-settings", program)
        ctx = _settings_context(program, programs, errors=errors, submitted=submitted)
        return render(request, "web/program/settings.html", ctx, status=400)
    return render(request, "web/program/settings.html", _settings_context(program, programs))


__all__ = ["program_home", "program_products", "program_settings_page", "program_users"]
