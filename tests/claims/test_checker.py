"""The checker on text: sentences, claims, strength with negation, verdicts, spans, HTML and Markdown, bad input."""

from __future__ import annotations

import pytest

from kratomwatch.claims.checker import check, check_text, engine
from kratomwatch.claims.text import MAX_BYTES, decode, html_to_text
from kratomwatch.core.errors import InputError

FIELDS = {"sentence", "start", "end", "claim", "asserted_strength", "verdict", "grade", "reason", "sources"}


def verdict_of(sentence: str) -> tuple[str | None, str | None, str | None]:
    findings = check_text(sentence)["findings"]
    if not findings:
        return None, None, None
    return findings[0]["verdict"], findings[0]["claim"], findings[0]["asserted_strength"]


@pytest.mark.parametrize(
    ("sentence", "verdict", "claim", "strength"),
    [
        ("Kratom relieves pain.", "overclaim", "chronic_pain", "plain"),
        ("Kratom's benefits for pain are well documented.", "overclaim", "chronic_pain", "strong"),
        ("Kratom may relieve pain in some people.", "supported", "chronic_pain", "hedged"),
        ("Kratom is not proven to relieve pain.", "supported", "chronic_pain", "hedged"),
        ("Kratom is not addictive.", "factual_error", "addiction_risk", "plain"),
        ("Kratom can be addictive.", "supported", "addiction_risk", "plain"),
        ("Kratom is a non-opioid botanical.", "factual_error", "opioid_receptor_activity", "plain"),
        ("Kratom belongs to the mint family.", "factual_error", "botanical_family", "plain"),
        ("Kratom is in the coffee family.", "supported", "botanical_family", "plain"),
        ("Kratom is FDA approved.", "factual_error", "fda_approval", "plain"),
        ("Kratom is not FDA approved.", "supported", "fda_approval", "plain"),
        ("Kratom should be integrated into treatment.", "unsupported_recommendation", "use_in_treatment", "plain"),
        ("Patients should try kratom for their pain.", "unsupported_recommendation", "chronic_pain", "plain"),
        ("Patients should not use kratom with alcohol.", None, None, None),
        ("Kratom treats ADHD without side effects.", "overclaim", "adhd", "plain"),
        ("Kratom is legal in all 50 states.", "factual_error", "legal_all_states", "plain"),
        ("More research is needed on kratom.", None, None, None),
        ("Is kratom the answer to chronic pain?", "supported", "chronic_pain", "hedged"),
        ("Kratom relieves pain, but is it safe?", "overclaim", "chronic_pain", "plain"),
        ("Advocates argue that kratom is non-addictive.", None, None, None),
        ("Further research is needed before kratom can be recommended for pain.", None, None, None),
    ],
)
def test_sentences(sentence: str, verdict: str | None, claim: str | None, strength: str | None) -> None:
    assert verdict_of(sentence) == (verdict, claim, strength)


def test_every_finding_has_the_fields_and_its_exact_span() -> None:
    text = "Intro line about nothing.\n\nKratom cures anxiety. It is not addictive!  The weather was fine."
    report = check(text)
    assert [f["verdict"] for f in report["findings"]] == ["overclaim", "factual_error"]
    for finding in report["findings"]:
        assert set(finding) == FIELDS
        assert report["text"][finding["start"] : finding["end"]] == finding["sentence"]
        assert finding["sources"] and finding["reason"]
    assert report["findings"][0]["grade"] == "very_low"
    assert report["findings"][1]["grade"] == "fact"
    assert report["summary"] == {
        "sentences": 4,
        "sentences_about_kratom": 2,
        "findings": 2,
        "flagged": 2,
        "by_verdict": {"factual_error": 1, "unsupported_recommendation": 0, "overclaim": 1, "supported": 0},
    }


def test_a_sentence_not_about_kratom_gets_no_finding_even_with_a_claim_word() -> None:
    assert check_text("Ibuprofen relieves pain. Coffee is not addictive.")["findings"] == []


def test_html_is_read_as_its_text_and_offsets_point_into_that_text() -> None:
    html = (
        "<html><head><style>p{}</style><script>kratom cures all</script></head><body><h1>Kratom</h1>"
        "<p>Kratom <b>cures</b> insomnia &amp; anxiety.</p><p>It is legal in every state.</p></body></html>"
    )
    report = check(html)
    assert "cures all" not in report["text"] and "<b>" not in report["text"]
    sentences = [f["sentence"] for f in report["findings"]]
    assert sentences == ["Kratom cures insomnia & anxiety.", "It is legal in every state."]
    for finding in report["findings"]:
        assert report["text"][finding["start"] : finding["end"]] == finding["sentence"]


def test_markdown_headings_and_list_items_are_their_own_sentences() -> None:
    text = "# Kratom cures pain\nSome intro text here\n- kratom is non-addictive\n- kratom is sold online"
    verdicts = [f["verdict"] for f in check(text)["findings"]]
    assert verdicts == ["overclaim", "factual_error"]


def test_wrapped_lines_stay_one_sentence() -> None:
    report = check_text("Kratom is\nnot addictive, vendors\nsay.")
    assert len(report["findings"]) <= 1 and report["summary"]["sentences"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no text"),
        ("   \n\t ", "no text"),
        ("kratom\x00cures", "NUL"),
        ("<p> </p>", "no text"),
        (
            "Le kratom est une plante utilisée en Asie du Sud-Est depuis longtemps, "
            "les feuilles sont mâchées ou préparées en infusion par les travailleurs.",
            "does not look like English",
        ),
    ],
)
def test_bad_text_is_refused_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        check(text, field="text")
    assert caught.value.field == "text" and message in caught.value.message


def test_binary_and_huge_input_are_refused() -> None:
    with pytest.raises(InputError, match="NUL"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(InputError, match="not UTF-8"):
        decode(b"\xff\xfe\xfa kratom")
    with pytest.raises(InputError, match="200,000 bytes"):
        decode(b"a" * (MAX_BYTES + 1))
    with pytest.raises(InputError, match="200,000 bytes"):
        check("kratom is safe. " * (MAX_BYTES // 10))
    assert decode("Kratom – gut".encode()) == "Kratom – gut"


def test_short_text_is_not_tested_for_language_and_the_engine_is_built_once() -> None:
    assert check("Kratom heals pain.")["findings"][0]["verdict"] == "overclaim"
    assert engine() is engine()


def test_html_to_text_keeps_blocks_apart() -> None:
    assert html_to_text("<p>One</p><p>Two &lt;3</p>") == "One\n\nTwo <3"


def test_a_blank_line_from_a_browser_form_ends_a_sentence() -> None:
    report = check("Kratom for pain\r\n\r\nKratom is not addictive.")
    assert [f["sentence"] for f in report["findings"]] == ["Kratom is not addictive."]
    finding = report["findings"][0]
    assert report["text"][finding["start"] : finding["end"]] == finding["sentence"]
