"""Commands over the instruments and the curated safety knowledge (no database): ``score``, ``check``, ``legal``
and ``evidence``. ``--json`` prints the same documents as the API (``knowledge.present``)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from kratomwatch.cli import console, fail, parse_date, reporting
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import InputError
from kratomwatch.core.screening.legal import product_rules_of
from kratomwatch.knowledge import present


def score(
    instrument: Annotated[str, typer.Argument(help="Instrument id, e.g. phq9, gad7, peg, cows, dsm5_sud")],
    answers: Annotated[
        list[str] | None, typer.Argument(help="Answers in item order as numeric scores; - = blank")
    ] = None,
    supervised: Annotated[
        bool,
        typer.Option(
            help="DSM-5: a medicine taken as prescribed, solely under medical supervision (not kratom on one's own)"
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score a validated instrument exactly as published: totals, band, flags and validity."""
    try:
        definition = ins.get(instrument)
        parsed = ins.parse_answers(answers or [])
        result = ins.score(definition, parsed, supervised=supervised)
    except ins.UnknownInstrument:
        known = ", ".join(ins.instrument_ids())
        message = f"unknown instrument {instrument!r}; known: {known}"
        fail(InputError("instrument", instrument, message, code="unknown_instrument"), as_json=as_json)
    except ins.InstrumentError as exc:
        problem = InputError("answers", " ".join(answers or []), str(exc), code=type(exc).__name__)
        fail(problem, as_json=as_json)
    if as_json:
        print(json.dumps(result.model_dump(mode="json")))
        return
    table = Table(title=f"{definition.title} (v{definition.version})")
    for col in ("scale", "value", "band", "valid"):
        table.add_column(col)
    for s in result.scales:
        table.add_row(
            s.label,
            ins.format_value(s.value),
            s.band.label if s.band else "-",
            "yes" if s.valid else "no: " + "; ".join(s.reasons),
        )
    console.print(table)
    for flag in result.flags:
        console.print(f"[bold red]FLAG[/bold red] {flag.label}: {flag.reason}")
    for note in result.notes:
        console.print(note, style="bold yellow" if "WARNING" in note else "dim")


def check(
    medications: Annotated[list[str], typer.Argument(help="Medications as entered; brand names allowed")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Interactions between kratom and a medication list, with severity, mechanism and sources."""
    from kratomwatch.core.screening import screen_interactions
    from kratomwatch.knowledge.loader import screening_knowledge

    result = screen_interactions(medications, screening_knowledge())
    if as_json:
        print(json.dumps(present.screening_payload(result)))
        return
    if not result.findings:
        console.print("No interaction class matched for the recognised medications.")
    for p in result.positives:
        console.print(f"[green]ON FILE[/green] {p.medication} -> {p.ingredient_name}: {p.class_name}")
        console.print(f"  {p.summary}")
        console.print(f"  Sources: {', '.join(p.sources)} (as of {p.as_of})", style="dim")
    for f in result.findings:
        provisional = "" if f.match_status == "matched" else f" (provisional match, confidence {f.confidence:.2f})"
        console.print(
            f"[bold]{f.severity.upper()}[/bold] {f.medication} -> {f.ingredient_name}: {f.class_name} "
            f"[{f.mechanism}; evidence: {f.evidence_level}]{provisional}"
        )
        console.print(f"  {f.summary}")
        console.print(f"  Management: {f.management}")
        console.print(f"  Sources: {', '.join(f.sources)} (as of {f.as_of})", style="dim")
    confirm = {m.entered for m in result.to_confirm}
    for m in result.unresolved:
        hint = ", ".join(s.term for s in m.suggestions[:3]) or "no suggestion"
        if m.entered in confirm:
            console.print(
                f"[yellow]CONFIRM THIS MEDICATION[/yellow] {m.entered!r}: not screened until confirmed "
                f"(did you mean: {hint}?)"
            )
        else:
            console.print(
                f"[yellow]UNMATCHED[/yellow] {m.entered!r}: kept and flagged for review (did you mean: {hint}?)"
            )


def legal(
    jurisdiction: Annotated[str, typer.Argument(help="ISO 3166-1 alpha-2 or ISO 3166-2 code, e.g. US-TX")],
    on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
    seven_oh_share: Annotated[float | None, typer.Option(help="Product 7-OH share of total alkaloids, %")] = None,
    seven_oh_product: Annotated[
        bool | None, typer.Option("--seven-oh-product/--not-seven-oh-product", help="Product is a 7-OH product")
    ] = None,
    seven_oh_mg_per_serving: Annotated[float | None, typer.Option(help="Product 7-OH, mg per serving")] = None,
    seven_oh_mg_per_g: Annotated[float | None, typer.Option(help="Product 7-OH, mg per gram of product")] = None,
    synthetic: Annotated[
        bool | None,
        typer.Option("--synthetic/--not-synthetic", help="Product has synthetic or semi-synthetic alkaloids"),
    ] = None,
    pure_leaf: Annotated[
        bool | None, typer.Option("--pure-leaf/--not-pure-leaf", help="Product is pure leaf (dried leaf or powder)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Legal status of kratom in a jurisdiction on a date (state rules over federal), and a product check.

    Describe the product with any of the product options; a rule that needs a fact not given answers
    "unknown" and names the fact."""
    with reporting(as_json=as_json):
        day = parse_date("on", on)
        status, product = present.legal_check(
            jurisdiction,
            day,
            seven_oh_share,
            field="jurisdiction",
            seven_oh_product=seven_oh_product,
            seven_oh_mg_per_serving=seven_oh_mg_per_serving,
            seven_oh_mg_per_g=seven_oh_mg_per_g,
            synthetic=synthetic,
            pure_leaf=pure_leaf,
        )
    payload = present.legal_payload(status, product)
    if as_json:
        print(json.dumps(payload, default=str))
        return
    console.print(
        f"{status.name} ({status.code}) on {day or f'{dt.datetime.now(dt.UTC).date()} (today, UTC)'}: "
        f"[bold]{status.status}[/bold] (decided by {status.decided_by})"
    )
    rec = status.record
    if rec is not None:
        details = [f"effective from {rec.effective_from or 'unknown date'}"]
        if rec.age_limit:
            details.append(f"age limit {rec.age_limit}")
        details.extend(rule.describe() for rule in product_rules_of(rec))
        console.print("  " + "; ".join(details))
        if rec.note:
            console.print(f"  {rec.note}")
        console.print(f"  Sources: {', '.join(rec.sources)} (as of {rec.as_of}; {rec.verification})", style="dim")
    if product is not None:
        described = [
            f"{label} {value}"
            for label, value in (
                ("7-OH share %", seven_oh_share),
                ("7-OH product", seven_oh_product),
                ("7-OH mg/serving", seven_oh_mg_per_serving),
                ("7-OH mg/g", seven_oh_mg_per_g),
                ("synthetic", synthetic),
                ("pure leaf", pure_leaf),
            )
            if value is not None
        ]
        console.print(f"Product ({', '.join(described)}): [bold]{product.verdict}[/bold]: {product.reason}")
    console.print(f"Knowledge as of {payload['knowledge_as_of']}. {present.LEGAL_DISCLAIMER}", style="dim")


def evidence(
    claim: Annotated[str | None, typer.Argument(help="Claim id (omit to list all)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Graded evidence for therapeutic claims about kratom (GRADE-style certainty, with citations)."""
    from kratomwatch.knowledge.loader import evidence_claims

    with reporting(as_json=as_json):
        claims = (present.find_claim(claim, field="claim"),) if claim is not None else evidence_claims()
    if as_json:
        print(json.dumps([present.claim_payload(c) for c in claims]))
        return
    for c in claims:
        console.print(f"[bold]{c.id}[/bold]: {c.claim}  certainty: [bold]{c.certainty}[/bold]")
        console.print(f"  {c.summary}")
        for number in c.key_numbers:
            console.print(f"  - {number.label}: {number.value} ({number.source})")
        console.print(f"  Sources: {', '.join(c.sources)} (as of {c.as_of})", style="dim")


def register(app: typer.Typer) -> None:
    app.command()(score)
    app.command()(check)
    app.command()(legal)
    app.command()(evidence)
