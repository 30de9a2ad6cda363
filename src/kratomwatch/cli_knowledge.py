"""CLI commands over the instruments and the curated safety knowledge (no database needed):
``score``, ``check``, ``legal`` and ``evidence``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kratomwatch.core import instruments as ins

console = Console()


def _emit_error(as_json: bool, field: str, value: object, message: str, code: str = "invalid") -> None:
    if as_json:
        print(json.dumps({"error": {"code": code, "message": message, "field": field, "value": value}}, default=str))
    else:
        Console(stderr=True).print(f"[red]error:[/red] {field}={value!r}: {message}")
    raise typer.Exit(2)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def score(
    instrument: Annotated[str, typer.Argument(help="Instrument id, e.g. phq9, gad7, peg, cows, dsm5_sud")],
    answers: Annotated[
        list[str] | None, typer.Argument(help="Answers in item order as numeric scores; - = blank")
    ] = None,
    supervised: Annotated[bool, typer.Option(help="DSM-5: use solely under medical supervision")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score a validated instrument exactly as published: totals, band, flags and validity."""
    try:
        definition = ins.get(instrument)
        parsed = ins.parse_answers(answers or [])
        result = ins.score(definition, parsed, supervised=supervised)
    except ins.UnknownInstrument:
        _emit_error(
            as_json,
            "instrument",
            instrument,
            f"unknown instrument {instrument!r}; known: {', '.join(ins.instrument_ids())}",
            "unknown_instrument",
        )
        return
    except ins.InstrumentError as exc:
        _emit_error(as_json, "answers", " ".join(answers or []), str(exc), type(exc).__name__)
        return
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
        console.print(note, style="dim")


def _knowledge() -> Any:
    from kratomwatch.knowledge.loader import screening_knowledge

    return screening_knowledge()


def check(
    medications: Annotated[list[str], typer.Argument(help="Medications as entered; brand names allowed")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Interactions between kratom and a medication list, with severity, mechanism and sources."""
    from kratomwatch.core.screening import screen_interactions

    result = screen_interactions(medications, _knowledge())
    if as_json:
        print(
            json.dumps(
                {
                    "findings": _plain(result.findings),
                    "matches": _plain(result.matches),
                    "unresolved": _plain(result.unresolved),
                    "highest_severity": result.highest_severity,
                }
            )
        )
        return
    if not result.findings:
        console.print("No interaction class matched for the recognised medications.")
    for f in result.findings:
        provisional = "" if f.match_status == "matched" else f" (provisional match, confidence {f.confidence:.2f})"
        console.print(
            f"[bold]{f.severity.upper()}[/bold] {f.medication} -> {f.ingredient_name}: {f.class_name} "
            f"[{f.mechanism}; evidence: {f.evidence_level}]{provisional}"
        )
        console.print(f"  {f.summary}")
        console.print(f"  Management: {f.management}")
        console.print(f"  Sources: {', '.join(f.sources)} (as of {f.as_of})", style="dim")
    for m in result.unresolved:
        hint = ", ".join(s.term for s in m.suggestions[:3]) or "no suggestion"
        console.print(f"[yellow]UNMATCHED[/yellow] {m.entered!r}: kept and flagged for review (did you mean: {hint}?)")


def legal(
    jurisdiction: Annotated[str, typer.Argument(help="ISO 3166-1 alpha-2 or ISO 3166-2 code, e.g. US-TX")],
    on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
    seven_oh_share: Annotated[float | None, typer.Option(help="Product 7-OH share of total alkaloids, %")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Legal status of kratom in a jurisdiction on a date (state rules over federal), and a product check."""
    from kratomwatch.core.screening import UnknownJurisdiction, evaluate_product, legal_status

    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        _emit_error(as_json, "on", on, f"on {on!r} is not a date (YYYY-MM-DD)")
        return
    if seven_oh_share is not None and not (0 <= seven_oh_share <= 100):
        _emit_error(as_json, "seven_oh_share", seven_oh_share, "the 7-OH share must be between 0 and 100 percent")
    knowledge = _knowledge()
    try:
        status = legal_status(jurisdiction.strip().upper(), day, knowledge)
        product = (
            None
            if seven_oh_share is None
            else evaluate_product(status.code, day, knowledge, seven_oh_share_percent=seven_oh_share)
        )
    except UnknownJurisdiction:
        _emit_error(
            as_json,
            "jurisdiction",
            jurisdiction,
            f"unknown jurisdiction code {jurisdiction!r} (use e.g. US, US-TX, TH, GB)",
            "unknown_jurisdiction",
        )
        return
    payload = {
        "jurisdiction": status.code,
        "name": status.name,
        "on": day.isoformat(),
        "status": status.status,
        "decided_by": status.decided_by,
        "record": _plain(status.record),
        "sources": list(status.sources),
        "product": _plain(product),
        "disclaimer": "A summary of curated rules with their sources, not legal advice.",
    }
    if as_json:
        print(json.dumps(payload, default=str))
        return
    console.print(
        f"{status.name} ({status.code}) on {day}: [bold]{status.status}[/bold] (decided by {status.decided_by})"
    )
    rec = status.record
    if rec is not None:
        details = [f"effective from {rec.effective_from or 'unknown date'}"]
        if rec.age_limit:
            details.append(f"age limit {rec.age_limit}")
        if rec.seven_oh_cap_percent is not None:
            details.append(f"7-OH cap {rec.seven_oh_cap_percent}% of total alkaloids")
        console.print("  " + "; ".join(details))
        if rec.note:
            console.print(f"  {rec.note}")
        console.print(f"  Sources: {', '.join(rec.sources)} (as of {rec.as_of}; {rec.verification})", style="dim")
    if product is not None:
        console.print(f"Product with 7-OH share {seven_oh_share}%: [bold]{product.verdict}[/bold]: {product.reason}")
    console.print(payload["disclaimer"], style="dim")


def evidence(
    claim: Annotated[str | None, typer.Argument(help="Claim id (omit to list all)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Graded evidence for therapeutic claims about kratom (GRADE-style certainty, with citations)."""
    from kratomwatch.knowledge.loader import evidence_claims

    claims = evidence_claims()
    if claim is not None:
        chosen = [c for c in claims if c.id == claim]
        if not chosen:
            _emit_error(
                as_json,
                "claim",
                claim,
                f"unknown claim {claim!r}; known: {', '.join(c.id for c in claims)}",
                "unknown_claim",
            )
        claims = tuple(chosen)
    if as_json:
        print(json.dumps([c.model_dump(mode="json") for c in claims]))
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
