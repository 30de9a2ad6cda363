"""Importing a tracker file into a patient's record (records.tracker_import): the normal dose path, all or nothing,
idempotent, a product mapping required and units that must fit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from kratomwatch.core import trackers
from kratomwatch.core.errors import InputError
from kratomwatch.records import tracker_import
from kratomwatch.records.models import Dose

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parents[1] / "fixtures" / "trackers"


def _parsed(name: str) -> trackers.TrackerFile:
    return trackers.parse(trackers.decode((FIXTURES / name).read_bytes()))


def test_herbal_csv_imports_through_the_dose_path_in_the_patients_zone(world: Any, system: Any) -> None:
    parsed = _parsed("herbal_tracker.csv")
    mapping = {"Green Maeng Da": world.leaf_cert_lot.pk, "Red Bali": world.leaf_plain_lot.pk}
    result = tracker_import.import_tracker_file(actor=system, patient=world.patient, parsed=parsed, mapping=mapping)
    assert (result.created, result.already) == (3, 0)
    doses = list(Dose.objects.filter(patient=world.patient).order_by("taken_at"))
    assert [d.source for d in doses] == ["import"] * 3
    # 08:15 with no zone in the file is 08:15 in Chicago (CST, UTC-6): 14:15 UTC.
    assert doses[0].taken_at == dt.datetime(2026, 11, 28, 14, 15, tzinfo=dt.UTC)
    assert (doses[0].local_date, doses[0].local_minute) == (dt.date(2026, 11, 28), 8 * 60 + 15)
    assert doses[0].basis == "certificate" and doses[0].mitragynine_mg == pytest.approx(37.5)
    assert doses[1].basis == "estimated"  # plain leaf without a certificate: the rules estimate, never more
    # The entry written with Z keeps its instant: 15:05 UTC is 09:05 in Chicago.
    assert doses[2].local_minute == 9 * 60 + 5


def test_reimporting_the_same_file_creates_nothing(world: Any, system: Any) -> None:
    parsed = _parsed("herbal_tracker.json")
    mapping = {"Green Maeng Da": world.leaf_cert_lot.pk, "Red Bali": world.leaf_cert_lot.pk}
    first = tracker_import.import_tracker_file(actor=system, patient=world.patient, parsed=parsed, mapping=mapping)
    again = tracker_import.import_tracker_file(
        actor=system, patient=world.patient, parsed=_parsed("herbal_tracker.json"), mapping=mapping
    )
    assert (first.created, first.already) == (3, 0)
    assert (again.created, again.already) == (0, 3)
    assert Dose.objects.filter(patient=world.patient).count() == 3
    assert [s.location for s in again.skipped] == ["dosages[3]"]


def test_every_name_must_be_mapped_and_skip_imports_nothing_of_it(world: Any, system: Any) -> None:
    parsed = _parsed("herbal_tracker.csv")
    with pytest.raises(InputError) as caught:
        tracker_import.import_tracker_file(
            actor=system, patient=world.patient, parsed=parsed, mapping={"Green Maeng Da": world.leaf_cert_lot.pk}
        )
    assert "Red Bali" in caught.value.message
    assert not Dose.objects.filter(patient=world.patient).exists()
    result = tracker_import.import_tracker_file(
        actor=system,
        patient=world.patient,
        parsed=parsed,
        mapping={"Green Maeng Da": world.leaf_cert_lot.pk, "Red Bali": None},
    )
    assert result.created == 2 and [s.location for s in result.skipped] == ["line 3"]


def test_a_unit_that_does_not_fit_the_product_is_refused_and_nothing_saved(world: Any, system: Any) -> None:
    parsed = _parsed("teataper.json")  # mL of tea
    with pytest.raises(InputError, match="does not fit"):
        tracker_import.import_tracker_file(
            actor=system, patient=world.patient, parsed=parsed, mapping={trackers.TEA_NAME: world.leaf_cert_lot.pk}
        )
    assert not Dose.objects.filter(patient=world.patient).exists()


def test_another_programs_lot_is_refused(world: Any, system: Any) -> None:
    from kratomwatch.records import actions

    other = actions.create_product(actor=system, program=world.other_program, vendor="O", name="Tea", form="other")
    lot = actions.create_lot(actor=system, product=other, lot_code="T")
    with pytest.raises(InputError, match="not in your program"):
        tracker_import.import_tracker_file(
            actor=system, patient=world.patient, parsed=_parsed("teataper.json"), mapping={trackers.TEA_NAME: lot.pk}
        )


def test_a_refused_entry_refuses_the_file_naming_its_place(world: Any, system: Any) -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = (
        '{"days": {"2026-11-20": {"entries": [{"id": "a", "ts": "2026-11-20T15:00:00Z", "ml": 100}]},'
        f' "2099-01-01": {{"entries": [{{"id": "b", "ts": "{future}", "ml": 100}}]}}}}}}'
    )
    with pytest.raises(InputError) as caught:
        tracker_import.import_tracker_file(
            actor=system,
            patient=world.patient,
            parsed=trackers.parse(text),
            mapping={trackers.TEA_NAME: world.shot_lot.pk},
        )
    assert caught.value.value == 'days["2099-01-01"].entries[0]'
    assert "future" in caught.value.message and "taken_at" not in caught.value.message
    assert not Dose.objects.filter(patient=world.patient).exists()
