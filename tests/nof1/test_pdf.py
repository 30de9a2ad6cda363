"""The protocol PDF: what the patient and clinician sign. It states the conditions, the schedule, the outcomes, the
MCID with its label, the stopping rules and the caveat; a blinded trial's order is not in it, only the commitment
to its seed; the clinician's signature freezes it."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from kratomwatch.nof1 import actions, results
from kratomwatch.nof1.models import Trial
from kratomwatch.nof1.pdf import protocol_pdf
from tests.nof1.conftest import trial_in

pytestmark = pytest.mark.django_db


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed to read the PDF")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return " ".join(out.decode().split())


def test_the_protocol_states_the_design_the_rules_and_the_caveat(world: Any, draft: Trial) -> None:
    text = text_of(protocol_pdf(draft))
    for words in (
        "N-of-1 trial protocol: Usual regimen against a reduced one",
        "Does the reduced regimen change my daily pain?",
        "A (reference)",
        "Reduced regimen",
        "30 mg/day",
        "2 blocks of 2 periods of 5 days",
        "Pain 9 or more on three days in a row",
        "a program choice, not a published value",
        "never proposes a dose",
        "not a dosing recommendation",
        f"Seed: {draft.seed}",
        "consent scope 'n-of-1'",
    ):
        assert words in text, words


def test_a_blinded_protocol_has_no_order_only_the_seed_commitment(world: Any, system: Any) -> None:
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in(blinded=True))
    text = text_of(protocol_pdf(trial))
    assert "Blinded: the order is shown to no one until the trial ends" in text
    assert results.protocol_context(trial)["seed_sha256"] in text.replace(" ", "")
    assert "Order:" not in text and str(trial.seed) not in text


def test_the_clinicians_signature_is_in_the_frozen_protocol(world: Any, system: Any, draft: Trial) -> None:
    trial = actions.sign_as_clinician(actor=system, trial=draft, user=world.alice)
    text = text_of(bytes(trial.protocol_pdf or b""))
    assert "Clinician: alice" in text and "America/Chicago" in text


def test_text_outside_latin_1_does_not_break_the_pdf(world: Any, system: Any) -> None:
    design = trial_in(title="Kratom \u2192 no kratom \u2014 \u03b1 trial", stopping_rules=["Pain \u2265 9"])
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=design)
    text = text_of(protocol_pdf(trial))
    assert "Pain >= 9" in text and "no kratom - ? trial" in text
