"""``kratomwatch claims check FILE|-`` and ``kratomwatch claims evaluate``: the claim checker from the command line,
no database (docs/claims.md). Plain text, Markdown or HTML in; each sentence about kratom with its verdict, the
library's grade, a one-line reason and the sources out. ``--json`` prints the same document as the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from kratomwatch.cli import console, reporting
from kratomwatch.core.errors import InputError

claims_app = typer.Typer(
    help="Check what an article about kratom claims against the evidence library.", no_args_is_help=True
)

_COLOUR = {
    "factual_error": "red",
    "unsupported_recommendation": "magenta",
    "overclaim": "yellow",
    "supported": "green",
}
_WORDS = {
    "factual_error": "FACTUAL ERROR",
    "unsupported_recommendation": "RECOMMENDS USE",
    "overclaim": "SAYS MORE THAN THE EVIDENCE",
    "supported": "consistent with the evidence",
}


def _read(file: str) -> str:
    from kratomwatch.claims.text import MAX_BYTES, decode

    if file == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
    else:
        path = Path(file)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except OSError as problem:
            raise InputError("file", file, f"cannot read the file: {problem.strerror}") from None
    return decode(data)


@claims_app.command("check")
def check(
    file: Annotated[str, typer.Argument(help="A text, Markdown or HTML file; - reads standard input")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON (the API's document)")] = False,
) -> None:
    """Read a text sentence by sentence and show, for each sentence about kratom, what it claims and whether the
    evidence library supports it. It never recommends kratom and never claims a benefit."""
    from kratomwatch.claims.checker import check as run

    with reporting(as_json=as_json):
        report = run(_read(file), field="file")
    if as_json:
        print(json.dumps({"findings": report["findings"], "summary": report["summary"]}, indent=2))
        return
    _print(report)


def _print(report: dict[str, Any]) -> None:
    summary = report["summary"]
    for finding in report["findings"]:
        verdict = finding["verdict"]
        colour = _COLOUR[verdict]
        console.print(
            f"[{colour}]{_WORDS[verdict]}[/{colour}]  chars {finding['start']}-{finding['end']}  "
            f"claim: {escape(finding['claim'])}  grade: {finding['grade'] or '-'}  "
            f"strength: {finding['asserted_strength']}"
        )
        console.print(f"  \u201c{escape(finding['sentence'])}\u201d")
        console.print(f"  {escape(finding['reason'])}")
        if finding["sources"]:
            console.print(f"  sources: {escape(', '.join(finding['sources']))}")
        console.print()
    by = summary["by_verdict"]
    console.print(
        f"{summary['sentences']} sentences, {summary['sentences_about_kratom']} about kratom: "
        f"{by['factual_error']} factual errors, {by['unsupported_recommendation']} recommendations, "
        f"{by['overclaim']} overclaims, {by['supported']} consistent with the evidence."
    )


@claims_app.command("evaluate")
def evaluate(
    half: Annotated[str, typer.Option(help="development, holdout or all")] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON")] = False,
) -> None:
    """Precision and recall per verdict on the labelled corpus (knowledge/data/claim_corpus.yaml), per half."""
    from kratomwatch.claims.corpus import HALVES
    from kratomwatch.claims.corpus import evaluate as run

    with reporting(as_json=as_json):
        if half not in (*HALVES, "all"):
            raise InputError("half", half, "half must be development, holdout or all", code="unknown_half")
        result = run()
    shown = [h for h in (*HALVES, "all") if half in (h, "all")]
    if as_json:
        body = {h: result[h] for h in shown}
        body["errors"] = [e for e in result["errors"] if half in (e["half"], "all")]
        print(json.dumps(body, indent=2))
        return
    for name in shown:
        metrics = result[name]
        table = Table(title=f"{name}: {metrics['sentences']} sentences, accuracy {metrics['accuracy']}")
        for column in ("verdict", "labelled", "precision", "recall"):
            table.add_column(column)
        for verdict, row in metrics["per_verdict"].items():
            table.add_row(verdict, str(row["labelled"]), str(row["precision"]), str(row["recall"]))
        console.print(table)
        console.print(
            f"hedged statements flagged: {metrics['hedges_flagged']} of {metrics['hedges']}; "
            f"claim identified right: {metrics['claim_accuracy']}"
        )
    for error in result["errors"]:
        if half in (error["half"], "all"):
            console.print(
                f"[yellow]{error['half']}[/yellow] expected {error['expected']}, got {error['got']}: "
                f"{escape(error['text'])}"
            )


def register(app: typer.Typer) -> None:
    app.add_typer(claims_app, name="claims")
