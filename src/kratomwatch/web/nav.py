"""The site menu: one definition of every role's pages (label, URL name, roles) and the context processor that
gives ``base.html`` the current user's menu.

Roles are ``patient`` (a login linked to a patient record), ``clinician``, ``program_admin``, ``researcher``
(``accounts.Membership`` roles, in any program) and ``staff`` (a Django staff or superuser). A user who holds several
roles sees the union of their items, each once, in the order of :data:`MENU`. A URL name that does not resolve
(a page another part of the app has not added yet) is skipped, so the menu never links to a missing page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from kratomwatch import access
from kratomwatch.accounts.models import Membership, Role

PATIENT = "patient"
CLINICIAN = Role.CLINICIAN.value
PROGRAM_ADMIN = Role.PROGRAM_ADMIN.value
RESEARCHER = Role.RESEARCHER.value
STAFF = "staff"
CARE = frozenset({CLINICIAN, PROGRAM_ADMIN})
EVERYONE = frozenset({PATIENT, CLINICIAN, PROGRAM_ADMIN, RESEARCHER, STAFF})

# Where each role lands after login (``/`` redirects there): the first role the user holds, in this order.
HOME_BY_ROLE: tuple[tuple[str, str], ...] = (
    (STAFF, "staff-home"),
    (PROGRAM_ADMIN, "clinic-dashboard"),
    (CLINICIAN, "clinic-dashboard"),
    (RESEARCHER, "researcher-home"),
    (PATIENT, "patient-home"),
)


@dataclass(frozen=True)
class Item:
    """One menu entry. ``url_names`` are tried in order (the first that resolves wins); ``own_code`` passes the
    patient's own code as the URL argument; ``path`` is a fixed address for pages outside the web app."""

    label: str
    url_names: tuple[str, ...]
    roles: frozenset[str]
    own_code: bool = False
    path: str = ""


MENU: tuple[Item, ...] = (
    Item("Staff home", ("staff-home",), frozenset({STAFF})),
    Item("My day", ("patient-home",), frozenset({PATIENT})),
    Item("Log a dose", ("patient-dose",), frozenset({PATIENT})),
    Item("Side effect", ("patient-side-effect",), frozenset({PATIENT})),
    Item("Questionnaires", ("assessments:list",), frozenset({PATIENT}), own_code=True),
    Item("Consent", ("consent",), frozenset({PATIENT}), own_code=True),
    Item("My data", ("patient-download", "patient-import"), frozenset({PATIENT})),
    Item("Dashboard", ("clinic-dashboard",), CARE),
    Item("Alerts", ("clinic-alerts",), CARE),
    Item("Enrol patient", ("clinic-enrol",), CARE),
    Item("Program", ("program-home",), frozenset({PROGRAM_ADMIN, STAFF})),
    Item("My jobs", ("jobs-list",), frozenset({PROGRAM_ADMIN, STAFF})),
    Item("Research", ("researcher-home",), frozenset({RESEARCHER})),
    Item("Surveillance", ("research-surveillance",), frozenset({RESEARCHER})),
    Item("Evidence", (), frozenset({RESEARCHER}), path="/api/v1/docs"),
    Item("Check an article", ("claims-check",), frozenset({PATIENT, CLINICIAN, PROGRAM_ADMIN, STAFF})),
    Item("Audit", ("audit-log",), frozenset({PROGRAM_ADMIN, STAFF})),
    Item("Django admin", ("admin:index",), frozenset({STAFF})),
    Item("Account", ("account-tokens",), frozenset({CLINICIAN, PROGRAM_ADMIN, RESEARCHER, STAFF})),
    Item("Account", ("two-factor-setup",), frozenset({PATIENT})),
)

# Pages that state the stance in their own words: the site-wide sentence is left off there (said once per page).
OWN_STANCE_PAGES = frozenset({"patient-home", "patient-home-code", "patient-dose", "patient-dose-code"})

STANCE = "kratomwatch measures, screens, flags and cites. It never recommends a kratom dose and never claims a benefit."


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    current: bool


def own_patient_code(user: Any) -> str | None:
    """The code of the patient record linked to this login, if any (through ``access.patients_for``)."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return None
    code: str | None = access.patients_for(user).filter(user_id=user.pk).values_list("code", flat=True).first()
    return code


def roles_of(user: Any) -> set[str]:
    """Every role the user holds, in any program (see the module docstring)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    roles: set[str] = set()
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        roles.add(STAFF)
    if getattr(user, "pk", None) is not None:
        roles.update(Membership.objects.filter(user_id=user.pk).values_list("role", flat=True).distinct())
        if own_patient_code(user) is not None:
            roles.add(PATIENT)
    return roles


def home_url_name(roles: set[str]) -> str | None:
    """The URL name of the home of a user with these roles, or None for a login with no role."""
    for role, name in HOME_BY_ROLE:
        if role in roles:
            return name
    return None


def _resolve(item: Item, code: str | None) -> str | None:
    if item.path:
        return item.path
    for name in item.url_names:
        if item.own_code and code is None:
            return None
        try:
            return reverse(name, args=[code] if item.own_code else [])
        except NoReverseMatch:
            continue
    return None


def menu_for(user: Any, current_path: str = "") -> list[Link]:
    """The menu of ``user``: the union of their roles' items whose page exists, each address once."""
    roles = roles_of(user)
    code = own_patient_code(user) if PATIENT in roles else None
    links: list[Link] = []
    seen: set[str] = set()
    for item in MENU:
        if not roles & item.roles:
            continue
        url = _resolve(item, code)
        if url is None or url in seen or item.label in {link.label for link in links}:
            continue
        seen.add(url)
        links.append(Link(item.label, url, current_path == url))
    return links


def menu(request: HttpRequest) -> dict[str, Any]:
    """Context processor: ``nav_links`` (the user's menu), ``home_url`` (where the product name links) and
    ``show_stance`` (False on pages that state the stance themselves)."""
    match = getattr(request, "resolver_match", None)
    url_name = match.view_name if match is not None else ""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": [], "home_url": reverse("home"), "show_stance": True, "stance": STANCE}
    return {
        "nav_links": menu_for(user, request.path),
        "home_url": reverse("home"),
        "show_stance": url_name not in OWN_STANCE_PAGES,
        "stance": STANCE,
    }
