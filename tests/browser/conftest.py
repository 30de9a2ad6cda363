"""Real-browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Skipped only when /usr/bin/chromium is absent (CI installs it and fails if these were skipped). axe-core is
read from ``KRATOMWATCH_AXE_JS`` (default: node_modules/axe-core/axe.min.js at the repository root).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 375, "height": 812}

# Playwright's sync API keeps an event loop on the test thread; the ORM calls made by the tests themselves are
# ordinary synchronous calls (the live server runs in its own thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))


def axe_path() -> Path:
    path = Path(os.environ.get("KRATOMWATCH_AXE_JS", str(ROOT / "node_modules" / "axe-core" / "axe.min.js")))
    if not path.is_file():
        pytest.fail(f"axe-core not found at {path}: `npm install axe-core` or set KRATOMWATCH_AXE_JS")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A 375x812 touch context. CSP is bypassed only so axe-core can be injected; see test_csp_* for CSP."""
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context
    context.close()


def check_page(page: Any, name: str) -> None:
    """Screenshot the page and assert axe-core finds no serious or critical violation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.add_script_tag(path=str(axe_path()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"axe violations on {name} ({page.url}):\n" + "\n".join(bad)


WIDE = {"width": 1366, "height": 900}
NARROW = {"width": 390, "height": 844}


def look_at_both_widths(page: Any, name: str) -> None:
    """Screenshot and axe at 1366 px then 390 px: no violation of any impact (stricter than :func:`check_page`),
    no sideways scroll."""
    for label, size in (("1366", WIDE), ("390", NARROW)):
        page.set_viewport_size(size)
        check_page(page, f"{name}-{label}")
        page.add_script_tag(path=str(axe_path()))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}" for v in result["violations"]]
        assert not bad, f"axe violations on {name} at {label}:\n" + "\n".join(bad)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], (name, label, width)


def totp_now(device: Any) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def login(page: Any, base: str, username: str, password: str = "demo-password-1") -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.wait_for_load_state()


class _DemoSnapshot:
    """The database as the demo fixture leaves it, taken once and restored before each browser test.

    Building the demo costs seconds; restoring it costs milliseconds. Each test still gets the whole database
    back exactly as built (every table, row and id; pytest-django flushes it after the test), so a test that
    writes leaks nothing into the next. SQLite: the online backup API, into and out of a private in-memory
    database. PostgreSQL: ``COPY`` of each table out and back in, and each sequence's position.

    The demo is dated from the clock when it is built, so a snapshot older than ``MAX_AGE`` or from another
    calendar day (in UTC or in any patient's zone) is built afresh.
    """

    MAX_AGE = dt.timedelta(minutes=10)

    def __init__(self, connection: Any, built_at: dt.datetime) -> None:
        from kratomwatch.records.models import Patient

        self.vendor = connection.vendor
        self.built_at = built_at
        self.zones = {"UTC", *Patient.objects.values_list("time_zone", flat=True)}
        self.days = self._days(built_at)
        self.tables: list[tuple[str, bytes]] = []
        self.sequences: list[tuple[str, int | None]] = []
        self.sqlite: Any = None
        if self.vendor == "sqlite":
            import sqlite3

            connection.ensure_connection()
            self.sqlite = sqlite3.connect(":memory:", check_same_thread=False)
            connection.connection.backup(self.sqlite)
            return
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg 3's cursor, for COPY
            for table in connection.introspection.django_table_names(only_existing=True, include_views=False):
                with raw.copy(f"COPY {quote(table)} TO STDOUT") as copy:
                    self.tables.append((table, b"".join(bytes(chunk) for chunk in copy)))
            cursor.execute(
                "SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences "
                "WHERE schemaname = current_schema()"
            )
            self.sequences = list(cursor.fetchall())

    def _days(self, now: dt.datetime) -> set[tuple[str, dt.date]]:
        from zoneinfo import ZoneInfo

        return {(zone, now.astimezone(ZoneInfo(zone)).date()) for zone in self.zones}

    def fresh(self, connection: Any, now: dt.datetime) -> bool:
        return connection.vendor == self.vendor and now - self.built_at < self.MAX_AGE and self._days(now) == self.days

    def restore(self, connection: Any) -> None:
        from kratomwatch.audit import guard

        if self.vendor == "sqlite":
            connection.ensure_connection()
            self.sqlite.backup(connection.connection)
            return
        quote = connection.ops.quote_name
        # One transaction; the audit tables' append-only triggers are off only for it, as in the test flush.
        with guard.triggers_removed(connection.alias), connection.cursor() as cursor:
            # The flush after the previous test emptied every table, then re-created content types and
            # permissions; empty them again so each row comes back with its own id.
            cursor.execute("TRUNCATE " + ", ".join(quote(table) for table, _ in self.tables) + " CASCADE")
            raw = cursor.cursor
            for table, data in self.tables:
                with raw.copy(f"COPY {quote(table)} FROM STDIN") as copy:
                    copy.write(data)
            for sequence, last_value in self.sequences:
                if last_value is None:
                    cursor.execute("SELECT setval(%s::regclass, 1, false)", [sequence])
                else:
                    cursor.execute("SELECT setval(%s::regclass, %s, true)", [sequence, last_value])

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()


@pytest.fixture(scope="session")
def _demo_snapshots() -> Iterator[dict[str, _DemoSnapshot]]:
    snapshots: dict[str, _DemoSnapshot] = {}
    yield snapshots
    for snapshot in snapshots.values():
        snapshot.close()


def _build_demo() -> None:
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kratomwatch.audit.log import Actor
    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.demo import load_demo
    from kratomwatch.records.models import Patient

    load_demo(patients=3, days=28, research_cohort=False)  # the research cohort's year of data: not needed here
    actor = Actor.system("browser-test")
    patient = Patient.objects.select_related("program").get(code="KW-001")
    document = consent_actions.publish_document(
        actor=actor,
        program=patient.program,
        title="Monitoring consent",
        body="I agree that my kratom use and health data are recorded and reviewed by my care team.",
        scopes=["care", "research"],
    )
    consent_actions.sign(
        actor=actor, patient=patient, document=document, scopes=["care", "research"], typed_name="Demo Patient"
    )
    users = get_user_model().objects
    for name in ("clinician", "otherclinician"):
        TOTPDevice.objects.create(user=users.get(username=name), name="phone", confirmed=True)


@pytest.fixture
def demo(transactional_db: Any, _demo_snapshots: dict[str, _DemoSnapshot]) -> dict[str, Any]:
    """A small demo program (KW-001 is the patient login), a consent document signed for care and research,
    and a confirmed TOTP device for each clinician (two-factor is enforced as in production).

    Built once and restored for each test (``_DemoSnapshot``): every test starts from the same database."""
    from django.db import connection
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kratomwatch.records.models import Patient

    now = timezone.now()
    snapshot = _demo_snapshots.get(connection.alias)
    if snapshot is not None and snapshot.fresh(connection, now):
        snapshot.restore(connection)
    else:
        if snapshot is not None:
            snapshot.close()
        _build_demo()
        _demo_snapshots[connection.alias] = _DemoSnapshot(connection, now)
    patient = Patient.objects.select_related("program").get(code="KW-001")
    devices = {
        device.user.username: device
        for device in TOTPDevice.objects.select_related("user").filter(
            user__username__in=("clinician", "otherclinician"), name="phone"
        )
    }
    return {"patient": patient, "devices": devices}


@pytest.fixture
def require_2fa(settings: Any) -> Any:
    settings.KRATOMWATCH_REQUIRE_2FA = True
    return settings


def clinician_login(page: Any, base: str, username: str, device: Any) -> None:
    login(page, base, username)
    if "/2fa/verify/" in page.url:
        page.fill("#id_otp_token", totp_now(device))
        with page.expect_navigation():
            page.click("main button[type=submit]")
        page.wait_for_load_state()
    assert "/2fa/" not in page.url and "/login/" not in page.url, (page.url, page.inner_text("main"))
