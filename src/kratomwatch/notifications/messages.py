"""The words of every message: the minimum necessary to log in and look (no patient code, no clinical text).

Only these functions build subjects and bodies, so the tests that check the minimum-necessary rule check them all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.conf import settings
from django.urls import NoReverseMatch, reverse

SEVERITY_ORDER = ("high", "moderate", "info")


def url(name: str, fallback: str) -> str:
    """An absolute link to the page named ``name`` (``KRATOMWATCH_BASE_URL`` + its path)."""
    try:
        path = reverse(name)
    except NoReverseMatch:
        path = fallback
    return f"{settings.KRATOMWATCH_BASE_URL}{path}"


def alert_queue_url() -> str:
    return url("clinic-alerts", "/clinic/alerts/")


def urgent_subject(program_name: str) -> str:
    return f"kratomwatch: urgent alert for a patient in {program_name}"


def urgent_body(alert_id: int, program_name: str) -> str:
    return (
        f"An urgent alert was raised for a patient in {program_name}.\n\n"
        f"Alert id: {alert_id}\n"
        f"Log in and open the alert queue to see it: {alert_queue_url()}?severity=urgent\n\n"
        "This message carries no patient details by design; they are in kratomwatch only.\n"
    )


def urgent_payload(alert_id: int, program_name: str) -> dict[str, object]:
    return {"event": "alert.urgent", "alert_id": alert_id, "program": program_name, "url": alert_queue_url()}


def digest_subject(day: dt.date) -> str:
    return f"kratomwatch: open alerts waiting on {day.isoformat()}"


def digest_body(counts: Mapping[str, int], day: dt.date) -> str:
    lines = [f"Open alerts (not urgent) waiting in your programs on {day.isoformat()}:", ""]
    lines += [f"  {severity}: {counts.get(severity, 0)}" for severity in SEVERITY_ORDER]
    lines += ["", f"Log in to see them: {alert_queue_url()}", ""]
    lines.append("Urgent alerts are sent at once, one message each. This summary carries no patient details.")
    return "\n".join(lines) + "\n"


REMINDER_SUBJECT = "kratomwatch: a questionnaire is waiting for you"


def reminder_body() -> str:
    return (
        "A questionnaire in kratomwatch is waiting for you.\n\n"
        f"Log in to fill it in: {url('patient-home', '/me/')}\n\n"
        "You asked for these reminders. You can turn them off on your page in kratomwatch.\n"
    )
