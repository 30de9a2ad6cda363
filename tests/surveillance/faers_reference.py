"""A reference reader for the tests, independent of ``kratomwatch.surveillance.ingest`` and ``scan``: FDA FAERS
quarterly ASCII extracts (the current, case/version layout published since 2012Q4) into the
openEBGM layout (one row per case, drug and reaction), with the FDA's de-duplication and deleted cases.

A quarter is the published zip (``faers_ascii_2024Q1.zip``) or a directory holding its files; the files
``DEMOyyQq.txt``, ``DRUGyyQq.txt`` and ``REACyyQq.txt`` are needed (OUTC, RPSR, THER, INDI are not read yet), and a
deleted-cases list (a file under a ``deleted`` folder or named ``*DELETED*``, one caseid per line) is applied when
present. Files are ``$``-delimited with a header line and **no quoting** (a ``"`` is an ordinary character, as the
FDA's ASC_NTS describes). Text is UTF-8, or Latin-1 when it is not valid UTF-8 (older extracts); the encoding used
is reported. A line whose number of fields differs from the header's is rejected, counted and reported; it is never
half-read.

De-duplication (the FDA's QDE rule): a case (``caseid``) keeps only its latest version: highest ``caseversion``,
then latest ``fda_dt``, then highest ``primaryid``, across every quarter given; then every caseid on a deleted list
is dropped. Counting unit: the case. Drug role: ``ps`` (primary suspect only), ``suspect`` (PS and SS, the
default) or ``any``. The drug name is ``drugname`` as published (a valid trade name or the verbatim name).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from kratomwatch.core.errors import InputError

__all__ = ["ROLES", "Quarter", "Rejects", "read_quarter", "read_quarters", "to_openebgm"]

ROLES = {"ps": ("PS",), "suspect": ("PS", "SS"), "any": None}
NEEDED = {
    "DEMO": ("primaryid", "caseid", "caseversion", "fda_dt"),
    "DRUG": ("primaryid", "role_cod", "drugname"),
    "REAC": ("primaryid", "pt"),
}
_NAME = re.compile(r"(DEMO|DRUG|REAC)(\d{2}Q[1-4])\.TXT$", re.IGNORECASE)


@dataclass
class Rejects:
    """Lines that were not read, per file: wrong number of fields (malformed)."""

    lines: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.lines.values())


@dataclass(frozen=True)
class Quarter:
    name: str  # e.g. "24Q1"
    demo: pl.DataFrame
    drug: pl.DataFrame
    reac: pl.DataFrame
    deleted: frozenset[str]
    rejects: Rejects
    encodings: dict[str, str]


def _members(path: Path) -> dict[str, bytes]:
    """File name (upper case, no folder) -> bytes, from a zip or a directory."""
    if path.is_dir():
        return {p.name.upper(): p.read_bytes() for p in path.rglob("*") if p.is_file()} | {
            f"DELETED/{p.name.upper()}": p.read_bytes()
            for p in path.rglob("*")
            if p.is_file() and "DELETED" in str(p.relative_to(path)).upper()
        }
    try:
        with zipfile.ZipFile(path) as archive:
            out: dict[str, bytes] = {}
            for info in archive.infolist():
                if info.is_dir():
                    continue
                data = archive.read(info)
                key = info.filename.replace("\\", "/").split("/")[-1].upper()
                out[key] = data
                if "DELETED" in info.filename.upper():
                    out[f"DELETED/{key}"] = data
            return out
    except FileNotFoundError:
        raise InputError("file", str(path), "no such file or directory") from None
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as problem:
        raise InputError("file", str(path), f"not a complete zip file (truncated or damaged): {problem}") from None
    except OSError as problem:
        raise InputError("file", str(path), f"cannot read the file: {problem.strerror}") from None


def _decode(raw: bytes) -> tuple[str, str]:
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _table(raw: bytes, label: str, needed: tuple[str, ...], rejects: Rejects) -> tuple[pl.DataFrame, str]:
    text, encoding = _decode(raw)
    lines = pl.Series("line", text.splitlines(), dtype=pl.String)
    if lines.len() == 0:
        raise InputError("file", label, "the file is empty")
    header = [h.strip().lower() for h in str(lines[0]).rstrip("$").split("$")]
    missing = [c for c in needed if c not in header]
    if missing:
        raise InputError(
            "column", missing[0], f"{label}: not a FAERS ASCII file of the current layout (no {missing[0]!r})"
        )
    body = pl.DataFrame({"line": lines[1:]}).filter(pl.col("line").str.strip_chars() != "")
    # Some extracts end every line with a "$" terminator: such a line has one separator more, and ends with it.
    body = body.with_columns(pl.col("line").str.strip_chars_end("\r"))
    fields = pl.col("line").str.count_matches("$", literal=True)
    terminated = (fields == len(header)) & pl.col("line").str.ends_with("$")
    good = body.filter((fields == len(header) - 1) | terminated).with_columns(
        pl.when(terminated)
        .then(pl.col("line").str.slice(0, pl.col("line").str.len_chars() - 1))
        .otherwise(pl.col("line"))
    )
    rejects.lines[label] = body.height - good.height
    parsed = good.select(
        pl.col("line").str.split_exact("$", len(header) - 1).struct.rename_fields(header).alias("row")
    ).unnest("row")
    return parsed.select([pl.col(c).str.strip_chars() for c in needed]), encoding


def read_quarter(path: Path) -> Quarter:
    members = _members(path)
    found: dict[str, tuple[str, bytes]] = {}
    names: set[str] = set()
    for key, data in members.items():
        match = _NAME.search(key)
        if match and not key.startswith("DELETED/"):
            found[match.group(1).upper()] = (key, data)
            names.add(match.group(2).upper())
    absent = [k for k in NEEDED if k not in found]
    if absent:
        raise InputError("file", str(path), f"not a FAERS quarterly ASCII extract: no {absent[0]}yyQq.txt file in it")
    if len(names) != 1:
        raise InputError("file", str(path), f"the files belong to several quarters: {', '.join(sorted(names))}")
    rejects = Rejects()
    tables: dict[str, pl.DataFrame] = {}
    encodings: dict[str, str] = {}
    for kind, columns in NEEDED.items():
        key, data = found[kind]
        tables[kind], encodings[key] = _table(data, key, columns, rejects)
    deleted: set[str] = set()
    for key, data in members.items():
        if key.startswith("DELETED/"):
            text, _ = _decode(data)
            deleted |= {line.strip() for line in text.splitlines() if line.strip().isdigit()}
    return Quarter(
        name=names.pop(),
        demo=tables["DEMO"],
        drug=tables["DRUG"],
        reac=tables["REAC"],
        deleted=frozenset(deleted),
        rejects=rejects,
        encodings=encodings,
    )


def read_quarters(paths: list[Path]) -> list[Quarter]:
    """Every quarter once: the same quarter given twice is an error (it would count its cases twice)."""
    quarters: list[Quarter] = []
    seen: dict[str, Path] = {}
    for path in paths:
        quarter = read_quarter(path)
        if quarter.name in seen:
            raise InputError(
                "file", str(path), f"quarter {quarter.name} is given twice (also {seen[quarter.name]})", code="conflict"
            )
        seen[quarter.name] = path
        quarters.append(quarter)
    return quarters


@dataclass(frozen=True)
class Ingested:
    rows: pl.DataFrame  # id (caseid), var1 (drug), var2 (reaction)
    reports_read: int
    cases_kept: int
    versions_dropped: int
    deleted_dropped: int
    rejects: dict[str, int]
    encodings: dict[str, str]


def to_openebgm(quarters: list[Quarter], *, role: str = "suspect") -> Ingested:
    """De-duplicate to the latest version of each case, drop deleted cases, and pair every kept case's drugs (of
    the chosen role) with its reactions."""
    if role not in ROLES:
        raise InputError("role", role, f"roles are: {', '.join(ROLES)}")
    demo = pl.concat([q.demo for q in quarters]).unique(subset=["primaryid"], keep="last")
    ranked = demo.with_columns(
        pl.col("caseversion").cast(pl.Int64, strict=False).fill_null(0).alias("_v"),
        pl.col("primaryid").cast(pl.Int64, strict=False).fill_null(0).alias("_p"),
    ).sort(["caseid", "_v", "fda_dt", "_p"], descending=[False, True, True, True], nulls_last=True)
    latest = ranked.unique(subset=["caseid"], keep="first", maintain_order=True)
    deleted = frozenset().union(*(q.deleted for q in quarters))
    kept = latest.filter(~pl.col("caseid").is_in(list(deleted)))
    keys = kept.select("primaryid", "caseid")
    drug = pl.concat([q.drug for q in quarters]).join(keys, on="primaryid", how="semi")
    allowed = ROLES[role]
    if allowed is not None:
        drug = drug.filter(pl.col("role_cod").str.to_uppercase().is_in(list(allowed)))
    drug = drug.filter(pl.col("drugname") != "").select("primaryid", pl.col("drugname").alias("var1"))
    reac = (
        pl.concat([q.reac for q in quarters])
        .join(keys, on="primaryid", how="semi")
        .filter(pl.col("pt") != "")
        .select("primaryid", pl.col("pt").alias("var2"))
    )
    rows = (
        drug.join(reac, on="primaryid")
        .join(keys, on="primaryid")
        .select(pl.col("caseid").alias("id"), "var1", "var2")
        .unique()
    )
    rejects: dict[str, int] = {}
    encodings: dict[str, str] = {}
    for q in quarters:
        rejects |= q.rejects.lines
        encodings |= q.encodings
    return Ingested(
        rows=rows,
        reports_read=demo.height,
        cases_kept=kept.height,
        versions_dropped=demo.height - latest.height,
        deleted_dropped=latest.height - kept.height,
        rejects=rejects,
        encodings=encodings,
    )
