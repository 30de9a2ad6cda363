"""A dose export as a background job in a real browser: the program admin starts it from "My jobs", the job page's
progress bar follows the worker (``static/web/jobs.js`` polling the status URL) to done, and the CSV downloads.

Pages are screenshotted at 1366 and 390 px and checked with axe-core.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import check_page, login

pytestmark = [pytest.mark.browser]


def test_program_admin_exports_doses_in_the_background_and_downloads_them(
    demo: dict[str, Any], live_server: Any, browser: Any, settings: Any, tmp_path: Path
) -> None:
    from kratomwatch.jobs import dose_csv
    from kratomwatch.jobs import worker as jobs_worker
    from kratomwatch.records.models import Dose

    settings.KRATOMWATCH_REQUIRE_2FA = False
    settings.BASE_DIR = tmp_path
    doses = Dose.objects.filter(patient__program=demo["patient"].program, voided_at__isnull=True).count()
    assert doses > 0
    base = live_server.url
    context = browser.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    login(page, base, "programadmin")

    page.click("text=My jobs")  # from the menu of every page
    page.wait_for_load_state()
    assert page.url == f"{base}/program/jobs/"
    check_page(page, "jobs-list-1366")
    with page.expect_navigation():
        page.click("main form button:has-text('Export doses (CSV)')")
    page.wait_for_load_state()
    assert "/program/jobs/" in page.url
    assert page.inner_text("#job-status") == "Running"
    assert page.get_attribute("#job-progress", "value") in (None, "0")
    check_page(page, "jobs-export-running-1366")

    # The worker (as `kratomwatch worker` or the development server's thread) picks the job up; the page follows.
    report = jobs_worker.run(burst=True, schedule=False)
    assert report.tasks_run >= 1  # the export (and any demo alert messages queued before it)
    page.wait_for_selector("#job-download", timeout=20_000)
    assert page.inner_text("#job-status") == "Done"
    assert page.get_attribute("#job-progress", "value") == "100"
    check_page(page, "jobs-export-done-1366")

    with page.expect_download() as info:
        page.click("#job-download")
    saved = tmp_path / "download.csv"
    info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert rows[0] == list(dose_csv.EXPORT_COLUMNS)
    assert len(rows) == doses + 1

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    check_page(page, "jobs-export-done-390")
    page.goto(f"{base}/program/jobs/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    check_page(page, "jobs-list-390")
    page.goto(f"{base}/program/jobs/import-doses/")
    check_page(page, "jobs-import-390")
    context.close()
