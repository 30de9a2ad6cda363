"""The claim checker page: reachable from the menu of clinicians, patients and staff; a pasted text comes back with
marked sentences (a class per verdict) and the reasons beside them; bad text is shown beside the field (400)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.web.test_program_admin import _no_2fa, login  # noqa: F401 - the web tests' login helper and 2FA switch

pytestmark = pytest.mark.django_db

ARTICLE = (
    "<h1>Kratom</h1><p>Kratom is a proven treatment for chronic pain. It is non-addictive.</p>"
    "<p>Kratom may ease pain for some users. Clinics should offer kratom to patients. More research is needed.</p>"
)


@pytest.mark.parametrize("who", ["alice", "carol", "staff"])
def test_the_menu_links_to_the_page_from_every_home(world: Any, who: str) -> None:
    client = login(getattr(world, who))
    home = client.get("/", follow=True)
    assert home.status_code == 200
    assert 'href="/claims/"' in home.content.decode()
    page = client.get("/claims/")
    assert page.status_code == 200 and b'name="text"' in page.content


def test_a_pasted_article_is_marked_sentence_by_sentence(world: Any) -> None:
    response = login(world.carol).post("/claims/", {"text": ARTICLE})
    assert response.status_code == 200
    html = response.content.decode()
    marks = re.findall(r'<mark class="verdict-(\w+)" id="s(\d)">', html)
    assert marks == [
        ("overclaim", "1"),
        ("factual_error", "2"),
        ("supported", "3"),
        ("unsupported_recommendation", "4"),
    ]
    assert "Says more than the evidence shows" in html and "Not correct" in html and "Recommends kratom" in html
    assert 'href="https://doi.org/10.3390/life12020193"' not in html  # only the sources of these findings
    assert "https://pubmed.ncbi.nlm.nih.gov/" in html or "https://pmc.ncbi.nlm.nih.gov/" in html
    assert "<h1>Kratom</h1>" not in html.split("claims-text")[1]  # the HTML was read as text, and escaped
    assert "style=" not in html and "<script" not in html


def test_empty_or_foreign_text_is_shown_beside_the_field(world: Any) -> None:
    client = login(world.alice)
    response = client.post("/claims/", {"text": "  "})
    assert response.status_code == 400
    assert "Paste the text of an article" in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    foreign = (
        "Kratom est une plante de la famille du café, originaire des forêts humides de la Thaïlande et de la Malaisie."
    )
    response = client.post("/claims/", {"text": foreign})
    assert response.status_code == 400 and "does not look like English" in response.content.decode()


def test_anonymous_visitors_are_sent_to_the_login(world: Any) -> None:
    response = Client().get("/claims/")
    assert response.status_code == 302 and "/login/" in response["Location"]
