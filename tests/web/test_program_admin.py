"""Program admin pages: products and lots with their lab certificate and recalls, users and roles, and program
settings, through the same actions as the API. Only program admins of the program (and staff) may use them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kratomwatch.accounts import program_settings
from kratomwatch.accounts.models import Membership
from kratomwatch.audit.models import AuditEvent
from kratomwatch.records.models import Lot, Product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


PAGES = ["/program/", "/program/products/", "/program/users/", "/program/settings/"]


def test_only_program_admins_and_staff(world: Any) -> None:
    for page in PAGES:
        assert login(world.alice).get(page).status_code == 403, page
        assert login(world.carol).get(page).status_code == 403, page
        assert login(world.admin).get(page).status_code == 200, page
        assert login(world.staff).get(page).status_code == 200, page
    # An admin of one program cannot open another program's pages by id.
    other = f"/program/settings/?program={world.other_program.pk}"
    assert login(world.admin).get(other).status_code == 403
    assert login(world.alice).post("/program/products/", {"form_name": "product"}).status_code == 403


def test_home_links_the_three_pages_per_program(world: Any) -> None:
    html = login(world.admin).get("/program/").content.decode()
    for name in ("products", "users", "settings"):
        assert f'href="/program/{name}/?program={world.program.pk}"' in html
    assert "Other clinic" not in html
    staff = login(world.staff).get("/program/").content.decode()
    assert "Other clinic" in staff and "Pain clinic" in staff


def test_add_product_and_lot_with_certificate_then_recall(world: Any) -> None:
    pa = login(world.admin)
    page = pa.get("/program/products/").content.decode()
    assert "Leaf powder" in page and "leaf_powder</" not in page  # forms in words
    added = pa.post(
        "/program/products/",
        {"program": world.program.pk, "form_name": "product", "vendor": "Acme", "name": "Red", "form": "capsule"},
    )
    assert added.status_code == 302
    product = Product.objects.get(vendor="Acme", name="Red")
    assert product.form == "capsule" and product.program == world.program

    lot_post = {
        "program": world.program.pk,
        "form_name": "lot",
        "product_id": product.pk,
        "lot_code": "R-1",
        "mitragynine": "9.5",
        "seven_oh": "0.2",
        "content_unit": "mg/unit",
        "lab_name": "Example Labs",
        "test_date": "2026-11-02",
        "unit_mass_mg": "500",
    }
    assert pa.post("/program/products/", lot_post).status_code == 302
    lot = Lot.objects.get(product=product, lot_code="R-1")
    assert lot.cert_mitragynine == 9.5 and lot.cert_seven_oh == 0.2 and lot.cert_lab_name == "Example Labs"
    assert str(lot.cert_test_date) == "2026-11-02" and not lot.recalled

    recall = pa.post("/program/products/", {"program": world.program.pk, "form_name": "recall", "lot_id": lot.pk})
    assert recall.status_code == 302
    lot.refresh_from_db()
    assert lot.recalled and lot.cert_mitragynine == 9.5  # the certificate is kept
    assert "Lot R-1 marked recalled" in pa.get("/program/products/").content.decode()
    assert AuditEvent.objects.filter(action="lot.update", object_id=str(lot.pk)).exists()


def test_product_and_lot_errors_are_inline_and_save_nothing(world: Any) -> None:
    pa = login(world.admin)
    products = Product.objects.count()
    bad = pa.post("/program/products/", {"program": world.program.pk, "form_name": "product", "form": "x"})
    html = bad.content.decode()
    assert bad.status_code == 400
    assert 'id="p-vendor-error"' in html and 'id="p-form-error"' in html and "Choose the product&#x27;s form" in html
    assert Product.objects.count() == products
    lots = Lot.objects.count()
    half = pa.post(
        "/program/products/",
        {
            "program": world.program.pk,
            "form_name": "lot",
            "product_id": world.leaf.pk,
            "lot_code": "H-1",
            "mitragynine": "abc",
            "content_unit": "mg/g",
        },
    )
    text = half.content.decode()
    assert half.status_code == 400 and 'id="l-mit-error"' in text and 'id="l-7oh-error"' in text
    shown = re.findall(r'<small id="l-[a-z0-9]+-error">([^<]*)</small>', text)
    assert shown and all("_" not in e for e in shown), shown
    dup = pa.post(
        "/program/products/",
        {"program": world.program.pk, "form_name": "lot", "product_id": world.leaf.pk, "lot_code": "L1"},
    )
    assert dup.status_code == 400 and "already exists" in dup.content.decode()
    foreign = pa.post(
        "/program/products/",
        {"program": world.program.pk, "form_name": "lot", "product_id": "999999", "lot_code": "Z"},
    )
    assert foreign.status_code == 400 and 'id="l-product-error"' in foreign.content.decode()
    assert Lot.objects.count() == lots


def test_users_add_change_and_remove_roles(world: Any) -> None:
    pa = login(world.admin)
    page = pa.get("/program/users/").content.decode()
    assert "alice" in page and "Clinician" in page and "pa (you)" in page
    assert 'value="patient"' not in page  # patients are invited from their patient page
    add = {"program": world.program.pk, "form_name": "add", "username": "dana", "password": "a-long-password-1"}
    assert pa.post("/program/users/", add | {"role": "researcher"}).status_code == 302
    dana = Membership.objects.get(program=world.program, user__username="dana")
    assert dana.role == "researcher"

    bad = pa.post("/program/users/", add | {"username": "x", "password": "short", "role": "patient"})
    html = bad.content.decode()
    assert bad.status_code == 400 and 'id="u-name-error"' in html and 'id="u-pass-error"' in html
    assert 'id="u-role-error"' in html and "invited from their patient page" in html

    change = {"program": world.program.pk, "form_name": "change", "user_id": dana.user_id, "role": "clinician"}
    assert pa.post("/program/users/", change).status_code == 302
    roles = Membership.objects.filter(program=world.program, user_id=dana.user_id).values_list("role", flat=True)
    assert list(roles) == ["clinician"]
    assert AuditEvent.objects.filter(action="membership.change", object_id=str(dana.user_id)).exists()
    remove = {"program": world.program.pk, "form_name": "remove", "user_id": dana.user_id}
    assert pa.post("/program/users/", remove).status_code == 302
    assert not Membership.objects.filter(program=world.program, user_id=dana.user_id).exists()

    me = pa.post("/program/users/", remove | {"user_id": world.admin.pk})
    assert me.status_code == 400 and "ask another program admin" in me.content.decode()
    assert Membership.objects.filter(program=world.program, user=world.admin).exists()
    bob = pa.post("/program/users/", remove | {"user_id": world.bob.pk})  # bob works in the other clinic
    assert bob.status_code == 404
    assert Membership.objects.filter(user=world.bob).exists()


def test_settings_show_origin_and_save_through_the_rule_config_action(world: Any) -> None:
    pa = login(world.admin)
    page = pa.get("/program/settings/").content.decode()
    assert "7-OH cap (% of total alkaloids)" in page and "Grams per level teaspoon" in page
    assert "Assessment grace days" in page
    assert "built-in default" in page and "program&#x27;s choice" not in page
    assert "https://apps.legislature.ky.gov/record/24RS/hb293.html" in page  # the cap's source
    assert "program setting" in page

    values = {r["name"]: f"{r['value']:g}" for r in program_settings.describe(program_settings.defaults(), {})}
    saved = pa.post("/program/settings/", {"program": world.program.pk, **values, "missed_followup_grace_days": "5"})
    assert saved.status_code == 302
    assert program_settings.stored(world.program.pk).overrides == {"missed_followup_grace_days": 5}  # type: ignore[union-attr]
    after = pa.get("/program/settings/").content.decode()
    assert "patient" in after and "re-evaluated" in after
    assert "program&#x27;s choice" in after and 'id="d-missed_followup_grace_days"' in after
    assert AuditEvent.objects.filter(action="alert.rule_config.update", program_id=world.program.pk).exists()

    bad = pa.post("/program/settings/", {"program": world.program.pk, **values, "missed_followup_grace_days": "2.5"})
    assert bad.status_code == 400 and 'id="s-missed_followup_grace_days-error"' in bad.content.decode()
    low_high = pa.post(
        "/program/settings/",
        {"program": world.program.pk, **values, "grams_per_teaspoon_low": "4", "grams_per_teaspoon_high": "3"},
    )
    assert low_high.status_code == 400
    errors = re.findall(r'<small id="s-[a-z_]+-error">([^<]*)</small>', low_high.content.decode())
    assert errors and all("_" not in e for e in errors), errors
    assert program_settings.stored(world.program.pk).overrides == {"missed_followup_grace_days": 5}  # type: ignore[union-attr]

    reset = pa.post(
        "/program/settings/",
        {"program": world.program.pk, **values, "default_missed_followup_grace_days": "on"},
    )
    assert reset.status_code == 302
    assert program_settings.stored(world.program.pk).overrides == {}  # type: ignore[union-attr]
