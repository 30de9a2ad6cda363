"""The patient's own data in a real browser (phone viewport): import a small Tea Taper JSON backup through the
preview, see the doses on /me/, and download the CSV record. Pages are screenshotted and checked with axe-core."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import SCREENSHOTS, check_page, login

pytestmark = [pytest.mark.browser]


def _tea_file(tmp_path: Path) -> Path:
    """Two entries of today (patient's zone is America/Chicago) written as Tea Taper writes them (UTC, mL). Both fall
    between the patient's local midnight and now, whatever the hour (just after midnight in Chicago, "90 minutes ago"
    would be yesterday there)."""
    zone = ZoneInfo("America/Chicago")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    local = now.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0).astimezone(dt.UTC)
    since = now - midnight
    stamps = [midnight + since / 3, midnight + 2 * since / 3]
    day = local.date().isoformat()
    entries = [
        {"id": f"e{i}", "ts": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "ml": 120 + i, "note": ""}
        for i, t in enumerate(stamps)
    ]
    path = tmp_path / "teataper-backup.json"
    path.write_text(
        json.dumps(
            {"schemaVersion": 4, "profile": {"timezone": "America/Chicago"}, "days": {day: {"entries": entries}}}
        )
    )
    return path


def test_patient_imports_a_tea_taper_file_and_downloads_their_record(
    demo: dict[str, Any], live_server: Any, phone: Any, tmp_path: Path
) -> None:
    from kratomwatch.audit.log import Actor
    from kratomwatch.records import actions
    from kratomwatch.records.models import Dose

    product = actions.create_product(
        actor=Actor.system("browser-test"),
        program=demo["patient"].program,
        vendor="Home",
        name="Brewed tea",
        form="other",
    )
    lot = actions.create_lot(actor=Actor.system("browser-test"), product=product, lot_code="TEA-1")
    base = live_server.url
    page = phone.new_page()
    login(page, base, "patient")
    page.goto(f"{base}/me/")
    page.click("#my-data-import")
    page.wait_for_load_state()
    check_page(page, "patient-import-upload")
    page.set_input_files("#f-file", str(_tea_file(tmp_path)))
    with page.expect_navigation():
        page.click("#upload-submit")
    assert "Tea Taper JSON backup" in page.content()
    assert page.locator("#entry-count").inner_text() == "2"
    page.set_viewport_size({"width": 390, "height": 844})
    check_page(page, "patient-import-preview-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Confirming without choosing a product is refused next to the select.
    with page.expect_navigation():
        page.click("#confirm-submit")
    assert page.locator("#map-0-error").is_visible()
    assert not Dose.objects.filter(patient__code="KW-001", source="import").exists()
    page.select_option("#map-0", str(lot.pk))
    with page.expect_navigation():
        page.click("#confirm-submit")
    assert "2 new" in page.locator("#import-result").inner_text()
    assert Dose.objects.filter(patient__code="KW-001", source="import").count() == 2
    check_page(page, "patient-import-done")
    page.goto(f"{base}/me/")
    doses = page.locator(".pt-doses").inner_text()
    assert "120 mL of Home Brewed tea" in doses and "121 mL" in doses

    page.click("#my-data-download")
    page.wait_for_load_state()
    check_page(page, "patient-download")
    with page.expect_download() as info:
        page.click("#download-csv")
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    rows = archive.read("doses.csv").decode("utf-8-sig")
    assert "Brewed tea" in rows and "America/Chicago" in rows and ",import" in rows
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
