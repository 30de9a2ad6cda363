"""The site shell: ``/`` sends each role to its home, the menu of each role (and of a user with several), the
researcher's and staff's homes, the styled 403/404/500 pages, the favicon and the quiet 403 log line.

Users are made through ``accounts.actions`` (the ``world`` personas plus a researcher and a login with no role).
Two-factor enforcement is off here (it has its own tests in tests/security).
"""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import NoReverseMatch, reverse

from kratomwatch.accounts.actions import create_user
from kratomwatch.consent import actions as consent_actions
from kratomwatch.consent.models import ConsentRecord
from kratomwatch.web import errors, nav

pytestmark = pytest.mark.django_db
PW = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


@pytest.fixture
def researcher(world: Any, system: Any) -> Any:
    user, _ = create_user(actor=system, username="rita", password=PW, role="researcher", program_slug="pain")
    return user


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def menu_labels(html: str) -> list[str]:
    """The labels of the header menu, in order (the <ul class="menu"> of base.html)."""
    start = html.index('<ul class="menu">')
    block = html[start : html.index("</ul>", start)]
    labels = []
    for chunk in block.split("<li")[1:]:
        if "<a " in chunk:
            labels.append(chunk.split(">", 2)[2].split("<", 1)[0])
        elif "<button" in chunk:
            labels.append(chunk.split("<button", 1)[1].split(">", 1)[1].split("<", 1)[0])
    return labels


def resolves(name: str, *args: str) -> bool:
    try:
        reverse(name, args=list(args))
    except NoReverseMatch:
        return False
    return True


def expected_labels(items: list[tuple[str, str | None]], *args: str) -> list[str]:
    """Labels whose URL name resolves (None: a fixed address, always shown)."""
    return [label for label, name in items if name is None or resolves(name) or (args and resolves(name, *args))]


# --- where each role lands -------------------------------------------------------------------------------------


def test_the_menu_names_that_resolve_today_are_listed() -> None:
    """Which pages of the menu exist in this build (a name that does not resolve is left off the menu)."""
    names = sorted({name for item in nav.MENU for name in item.url_names})
    status = {name: resolves(name, "KW-001") or resolves(name) for name in names}
    print("menu URL names that resolve:", sorted(n for n, ok in status.items() if ok))
    print("menu URL names not there yet:", sorted(n for n, ok in status.items() if not ok))
    for always in ("home", "patient-home", "clinic-dashboard", "clinic-alerts", "researcher-home", "staff-home"):
        assert resolves(always), always
    assert status["assessments:list"] and status["consent"] and status["audit-log"] and status["admin:index"]


@pytest.mark.parametrize(
    ("persona", "target"),
    [
        ("carol", "/me/"),
        ("alice", "/clinic/"),
        ("admin", "/clinic/"),
        ("staff", "/staff/"),
    ],
)
def test_root_sends_each_role_to_its_home(world: Any, persona: str, target: str) -> None:
    response = client_for(getattr(world, persona)).get("/")
    assert response.status_code == 302
    assert response["Location"] == target


def test_root_sends_a_researcher_to_the_research_home(researcher: Any) -> None:
    response = client_for(researcher).get("/")
    assert response.status_code == 302 and response["Location"] == "/research/"


def test_a_login_with_no_role_is_told_so_and_whom_to_ask(world: Any) -> None:
    nobody = get_user_model().objects.create_user(username="nobody", password=PW)
    response = client_for(nobody).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "has no role yet" in html and "program admin" in html
    assert menu_labels(html) == ["Log out"]


def test_anonymous_root_goes_to_login() -> None:
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_lands_on_the_role_home(world: Any) -> None:
    response = Client().post("/login/", {"username": "carol", "password": PW}, follow=True)
    assert response.redirect_chain[-1][0] == "/me/"


# --- the menu --------------------------------------------------------------------------------------------------


PATIENT_ITEMS: list[tuple[str, str | None]] = [
    ("My day", "patient-home"),
    ("Log a dose", "patient-dose"),
    ("Side effect", "patient-side-effect"),
    ("Questionnaires", "assessments:list"),
    ("Consent", "consent"),
    ("My data", "patient-download"),
    ("Check an article", "claims-check"),
    ("Account", "two-factor-setup"),
]
CLINICIAN_ITEMS: list[tuple[str, str | None]] = [
    ("Dashboard", "clinic-dashboard"),
    ("Alerts", "clinic-alerts"),
    ("Enrol patient", "clinic-enrol"),
]


def test_patient_menu_links_their_own_pages_and_no_clinician_page(world: Any) -> None:
    html = client_for(world.carol).get("/me/").content.decode()
    labels = menu_labels(html)
    expected = expected_labels(PATIENT_ITEMS, "P-001")
    if "My data" not in expected and resolves("patient-import"):
        expected.insert(5, "My data")
    assert labels == [*expected, "Log out"]
    assert 'href="/assessments/P-001/"' in html and 'href="/consent/P-001/"' in html
    for forbidden in ("/clinic/", "/audit/", "/admin/", "/staff/", "/research/"):
        assert f'href="{forbidden}"' not in html
    assert '<a href="/me/" aria-current="page">My day</a>' in html


def test_clinician_menu(world: Any) -> None:
    labels = menu_labels(client_for(world.alice).get("/clinic/").content.decode())
    assert labels == [*expected_labels(CLINICIAN_ITEMS), "Check an article", "Account", "Log out"]
    assert "Audit" not in labels and "Program" not in labels and "My day" not in labels


def test_program_admin_menu_adds_program_and_audit(world: Any) -> None:
    labels = menu_labels(client_for(world.admin).get("/clinic/").content.decode())
    extra = expected_labels([("Program", "program-home"), ("My jobs", "jobs-list")])
    assert labels == [*expected_labels(CLINICIAN_ITEMS), *extra, "Check an article", "Audit", "Account", "Log out"]


def test_researcher_menu(researcher: Any) -> None:
    html = client_for(researcher).get("/research/").content.decode()
    assert menu_labels(html) == ["Research", "Surveillance", "Evidence", "Account", "Log out"]
    assert 'href="/api/v1/docs"' in html


def test_staff_menu(world: Any) -> None:
    labels = menu_labels(client_for(world.staff).get("/staff/").content.decode())
    program = expected_labels([("Program", "program-home"), ("My jobs", "jobs-list")])
    assert labels == ["Staff home", *program, "Check an article", "Audit", "Django admin", "Account", "Log out"]


def test_a_user_with_several_roles_sees_the_union_once(world: Any, researcher: Any) -> None:
    from kratomwatch.accounts.models import Membership, Role

    Membership.objects.create(user=researcher, program=world.other_program, role=Role.CLINICIAN)
    labels = menu_labels(client_for(researcher).get("/clinic/").content.decode())
    assert labels == [
        *expected_labels(CLINICIAN_ITEMS),
        "Research",
        "Surveillance",
        "Evidence",
        "Check an article",
        "Account",
        "Log out",
    ]
    assert labels.count("Account") == 1


def test_skip_link_comes_first_and_log_out_last(world: Any) -> None:
    html = client_for(world.alice).get("/clinic/").content.decode()
    body = html[html.index("<body>") :]
    assert body.index('href="#content">Skip to content</a>') < body.index("<header")
    assert '<main id="content"' in html
    start = html.index('<ul class="menu">')
    menu = html[start : html.index("</ul>", start)]
    assert menu.index("Log out") > menu.rindex("<a ")
    assert menu_labels(html)[-1] == "Log out"


def test_pico_is_vendored_and_loaded_before_the_site_css(world: Any) -> None:
    html = client_for(world.alice).get("/clinic/").content.decode()
    assert html.index("web/vendor/pico.min.css") < html.index("web/site.css")
    assert "cdn" not in html.lower()


def test_the_stance_sentence_appears_once_per_page(world: Any, researcher: Any) -> None:
    for user, path in (
        (world.carol, "/me/"),
        (world.carol, "/me/dose/"),
        (world.alice, "/clinic/"),
        (researcher, "/research/"),
    ):
        html = client_for(user).get(path).content.decode()
        assert html.count("never recommends a kratom dose") == 1, path


# --- the researcher and staff homes ----------------------------------------------------------------------------


def test_research_home_counts_active_research_consent_without_identifiers(
    world: Any, researcher: Any, system: Any
) -> None:
    html = client_for(researcher).get("/research/").content.decode()
    assert "Pain clinic" in html and "Other clinic" not in html
    assert '<td class="num">1</td>' in html
    assert "P-001" not in html and "Q-001" not in html
    assert "Cohorts and analyses" in html and f'id="research-cohorts-{world.program.pk}"' in html
    consent_actions.withdraw(actor=system, patient=world.patient, scope="research")
    assert not ConsentRecord.objects.filter(patient=world.patient, scope="research", withdrawn_at__isnull=True).exists()
    html = client_for(researcher).get("/research/").content.decode()
    assert '<td class="num">0</td>' in html


@pytest.mark.parametrize("persona", ["carol", "alice", "admin", "staff"])
def test_research_home_is_for_researchers_only(world: Any, persona: str) -> None:
    response = client_for(getattr(world, persona)).get("/research/")
    assert response.status_code == 403
    assert "This page is for researchers." in response.content.decode()


def test_staff_home_lists_programs_with_counts_and_tools(world: Any) -> None:
    html = client_for(world.staff).get("/staff/").content.decode()
    assert "Pain clinic" in html and "Other clinic" in html
    assert html.count('<td class="num">1</td>') == 2
    for href in ('href="/audit/"', 'href="/admin/"', 'href="/account/tokens/"', 'href="/research/surveillance/"'):
        assert href in html


@pytest.mark.parametrize("persona", ["carol", "alice", "admin"])
def test_staff_home_is_for_staff_only(world: Any, persona: str) -> None:
    assert client_for(getattr(world, persona)).get("/staff/").status_code == 403


# --- error pages, favicon, log ---------------------------------------------------------------------------------


def test_403_is_styled_says_why_and_links_home(world: Any) -> None:
    response = client_for(world.carol).get("/clinic/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "This page is for the care team" in html
    assert 'href="/" role="button">Back to your home</a>' in html
    assert "web/vendor/pico.min.css" in html and "Log out" in html


def test_404_is_styled_and_links_home(world: Any) -> None:
    for path in ("/no-such-page/", "/clinic/patients/Q-001/"):
        response = client_for(world.alice).get(path)
        assert response.status_code == 404, path
        html = response.content.decode()
        assert "No such page, or you may not see it" in html
        assert "Back to your home" in html and "Q-001" not in html


def test_404_is_styled_in_debug_too(world: Any, settings: Any) -> None:
    settings.DEBUG = True
    response = client_for(world.alice).get("/no-such-page/")
    assert response.status_code == 404
    assert "No such page, or you may not see it" in response.content.decode()


def test_api_404_keeps_its_json_shape(world: Any, settings: Any) -> None:
    settings.DEBUG = True
    response = client_for(world.alice).get("/api/v1/patients/NOPE")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_500_page_renders_without_the_database(rf: Any) -> None:
    response = errors.page_500(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_a_403_is_logged_once_without_a_traceback(world: Any) -> None:
    """Through the configured console handler (settings.LOGGING): one WARNING line, no traceback."""
    handlers = logging.getLogger("django").handlers
    assert len(handlers) == 1
    stream = io.StringIO()
    # Swap the stream without setStream(), which would flush the old one (pytest may have closed it already).
    old = handlers[0].stream  # type: ignore[attr-defined]
    handlers[0].stream = stream  # type: ignore[attr-defined]
    try:
        client_for(world.carol).get("/clinic/")
    finally:
        handlers[0].stream = old  # type: ignore[attr-defined]
    out = stream.getvalue()
    assert out.count("Forbidden") == 1, out
    assert "Traceback" not in out


def test_favicon_responds(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content
