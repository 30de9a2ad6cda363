"""Ingest public spontaneous-report data into the analytical store, one unit at a time, idempotently.

A **unit** is what is published as one piece: a FAERS (or legacy AERS) quarter, a CAERS export file, or an
openEBGM-layout file. Each unit is read whole, checked, and written as Parquet tables under
``KRATOMWATCH_HOME/surveillance/sources/<format>/<unit>/`` with ``manifest.json`` written last; the folder is built
under a temporary name and renamed into place, so a unit is either complete (manifest present) or absent, never
half-ingested. Ingesting the same bytes again changes nothing (``unchanged``); a different file for a unit already
ingested is refused unless ``replace`` is asked for; two paths for one unit in the same call are refused before
anything is written.

Common tables (every format maps to them; ``scan.py`` reads only these):

- ``cases``: ``primaryid`` (Int64, unique within the unit: the join key), ``caseid`` (String: the case across
  versions and units), ``version`` (Int32), ``fda_dt`` and ``init_fda_dt`` (Date, FDA receipt of this version and
  of the first), ``sex`` (``F``/``M``/null), ``age_years`` (Float64), ``country`` (String), ``strat`` (String,
  openEBGM strata joined with ``-``, else null);
- ``drugs``: ``primaryid``, ``drug_seq`` (Int32), ``role`` (``PS``/``SS``/``C``/``I``), ``drugname``, ``prod_ai``;
- ``reactions``: ``primaryid``, ``pt``; ``outcomes``: ``primaryid``, ``outc_cod``;
- FAERS also: ``indications`` (``primaryid``, ``drug_seq``, ``indi_pt``), ``therapies`` (``primaryid``,
  ``drug_seq``, ``start_dt``, ``end_dt``, ``dur``, ``dur_cod``), ``sources`` (``primaryid``, ``rpsr_cod``) and
  ``deleted`` (``caseid``: the FDA's deleted-case list shipped in the quarter's zip).

FAERS files (ASC_NTS; ../shared/reference/pharmacovigilance.md §1): ``$``-delimited with a header line and no
quoting. The current layout (2012Q4 on: ``primaryid``, ``caseid``, ``caseversion``) and the legacy AERS layout
(2004Q1-2012Q3: ``isr``, ``case``, no version number: ``isr`` is the version's id, later versions have later
``fda_dt`` and higher ``isr``) are both read. A line whose field count differs from the header's is rejected,
counted and reported; text that is not UTF-8 is read as Latin-1 and reported.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from kratomwatch.core.errors import InputError
from kratomwatch.surveillance import openebgm, store
from kratomwatch.surveillance.layouts import known_columns

__all__ = ["FORMATS", "IngestReport", "UnitReport", "ingest", "source_dir", "units"]

FORMATS = ("faers", "caers", "openebgm")
Progress = Callable[[str, int, int], None]

# FAERS age_cod -> years (ASC_NTS: DEC decade, YR year, MON month, WK week, DY day, HR hour).
AGE_UNIT_YEARS = {"DEC": 10.0, "YR": 1.0, "MON": 1 / 12, "WK": 7 / 365.25, "DY": 1 / 365.25, "HR": 1 / 8766}

# Columns read per file, by layout: (kind, {our name: the column in the file}); the first name of each list that
# the header has is used. Unknown columns are ignored (FAERS added columns over the years).
_FAERS: dict[str, dict[str, tuple[str, ...]]] = {
    "DEMO": {
        "primaryid": ("primaryid", "isr"),
        "caseid": ("caseid", "case"),
        "version": ("caseversion",),
        "fda_dt": ("fda_dt",),
        "init_fda_dt": ("init_fda_dt",),
        "sex": ("sex", "gndr_cod"),
        "age": ("age",),
        "age_cod": ("age_cod",),
        "country": ("occr_country", "reporter_country"),
    },
    "DRUG": {
        "primaryid": ("primaryid", "isr"),
        "drug_seq": ("drug_seq",),
        "role": ("role_cod",),
        "drugname": ("drugname",),
        "prod_ai": ("prod_ai",),
    },
    "REAC": {"primaryid": ("primaryid", "isr"), "pt": ("pt",)},
    "OUTC": {"primaryid": ("primaryid", "isr"), "outc_cod": ("outc_cod", "outc_code")},
    "RPSR": {"primaryid": ("primaryid", "isr"), "rpsr_cod": ("rpsr_cod",)},
    "THER": {
        "primaryid": ("primaryid", "isr"),
        "drug_seq": ("dsg_drug_seq", "drug_seq"),
        "start_dt": ("start_dt",),
        "end_dt": ("end_dt",),
        "dur": ("dur",),
        "dur_cod": ("dur_cod",),
    },
    "INDI": {"primaryid": ("primaryid", "isr"), "drug_seq": ("indi_drug_seq", "drug_seq"), "indi_pt": ("indi_pt",)},
}
_REQUIRED = {
    "DEMO": ("primaryid", "caseid", "fda_dt"),
    "DRUG": ("primaryid", "role", "drugname"),
    "REAC": ("primaryid", "pt"),
    "OUTC": ("primaryid", "outc_cod"),
    "RPSR": ("primaryid", "rpsr_cod"),
    "THER": ("primaryid", "drug_seq"),
    "INDI": ("primaryid", "drug_seq", "indi_pt"),
}
_TABLE = {
    "DEMO": "cases",
    "DRUG": "drugs",
    "REAC": "reactions",
    "OUTC": "outcomes",
    "RPSR": "sources",
    "THER": "therapies",
    "INDI": "indications",
}
_OPTIONAL_FILES = ("OUTC", "RPSR", "THER", "INDI")
_FILE = re.compile(r"(DEMO|DRUG|REAC|OUTC|RPSR|THER|INDI)(\d{2})Q([1-4])\.TXT$", re.IGNORECASE)


@dataclass
class UnitReport:
    name: str
    status: str  # "ingested" | "unchanged"
    rows: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    unknown_columns: dict[str, list[str]] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    layout: str = ""
    seconds: float = 0.0


@dataclass
class IngestReport:
    format: str
    units: list[UnitReport]
    seconds: dict[str, float]


def source_dir(fmt: str, collection: str = "public") -> Path:
    """Where a collection's units of a format live: ``public`` for real published data, ``demo`` for the
    synthetic sample of the demo (kept apart, so a real quarter is never mixed with a generated one)."""
    return store.home() / "sources" / collection / fmt


def units(fmt: str, collection: str = "public") -> list[tuple[str, dict[str, Any]]]:
    """Complete units of a format (those with a manifest), in name order, with their manifests."""
    root = source_dir(fmt, collection)
    found: list[tuple[str, dict[str, Any]]] = []
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            manifest = folder / "manifest.json"
            if folder.is_dir() and not folder.name.startswith(".") and manifest.is_file():
                found.append((folder.name, json.loads(manifest.read_text("utf-8"))))
    return found


# --- reading files -------------------------------------------------------------------------------------------


def _decode(raw: bytes) -> tuple[bytes, str]:
    """UTF-8 as is (BOM dropped); otherwise Latin-1 re-encoded as UTF-8 (older FAERS and CAERS files)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        raw.decode("utf-8")
        return raw, "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1").encode("utf-8"), "latin-1"


def _header(raw: bytes) -> list[str]:
    """The column names of a ``$``-delimited file's header line (lower case)."""
    line = raw[: raw.find(b"\n")] if b"\n" in raw else raw
    return [h.strip().lower() for h in line.decode("latin-1").strip("\r\n \ufeff\xef\xbb\xbf").rstrip("$").split("$")]


def _dollar_table(
    raw: bytes, label: str, wanted: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> tuple[pl.DataFrame, int, str]:
    """A ``$``-delimited FAERS file: (the wanted columns under our names, rejected lines, encoding)."""
    data, encoding = _decode(raw)
    newline = data.find(b"\n")
    header_line = (data if newline < 0 else data[:newline]).decode("utf-8").strip("\r\n ")
    if not header_line:
        raise InputError("file", label, "the file is empty")
    terminated = header_line.endswith("$")
    header = [h.strip().lower() for h in header_line.rstrip("$").split("$")]
    chosen: dict[str, int] = {}
    for ours, theirs in wanted.items():
        for name in theirs:
            if name in header:
                chosen[ours] = header.index(name)
                break
    missing = [c for c in required if c not in chosen]
    if missing:
        expected = wanted[missing[0]][0]
        raise InputError(
            "column", expected, f"{label}: not a FAERS/AERS ASCII file (its header has no {expected!r} column)"
        )
    body = data[newline + 1 :] if newline >= 0 else b""
    if not body.strip():
        frame = pl.DataFrame({k: pl.Series([], dtype=pl.String) for k in chosen})
        return frame, 0, encoding
    # One string per line, split in Rust (no Python object per line). NUL never occurs in FAERS text; a line that
    # held one would be cut and then rejected by its field count.
    lines = pl.read_csv(
        io.BytesIO(body),
        has_header=False,
        new_columns=["line"],
        infer_schema=False,
        separator="\x00",
        quote_char=None,
        truncate_ragged_lines=True,
    ).filter(pl.col("line").is_not_null() & (pl.col("line").str.strip_chars() != ""))
    separators = pl.col("line").str.count_matches("$", literal=True)
    expected_seps = len(header) - 1
    ok = (separators == expected_seps + 1) & pl.col("line").str.ends_with("$") if terminated else None
    good_mask = (separators == expected_seps) if ok is None else ok | (separators == expected_seps)
    good = lines.filter(good_mask)
    rejected = lines.height - good.height
    # Split only as far as the last column wanted (the rest of the line stays in one field): DRUG has 20 columns,
    # of which the first six are read.
    last = max(chosen.values())
    names = [f"c{i}" for i in range(last + 2)]
    parsed = good.select(pl.col("line").str.splitn("$", last + 2).struct.rename_fields(names).alias("r"))
    frame = parsed.select(
        [pl.col("r").struct.field(f"c{index}").str.strip_chars().alias(ours) for ours, index in chosen.items()]
    )
    return frame, rejected, encoding


def _date(column: str) -> pl.Expr:
    """FAERS dates are YYYYMMDD (sometimes YYYYMM or YYYY: then not a day; null)."""
    return pl.col(column).str.strptime(pl.Date, "%Y%m%d", strict=False)


def _faers_members(path: Path) -> tuple[dict[str, bytes], list[bytes], str]:
    """(kind -> bytes, deleted-list contents, quarter name "2024Q1") of one quarter zip or directory."""
    files: dict[str, tuple[str, bytes]] = {}
    deleted: list[bytes] = []
    quarters: set[str] = set()

    def take(name: str, read: Callable[[], bytes]) -> None:
        base = name.replace("\\", "/").split("/")[-1]
        if "DELETE" in name.upper():
            deleted.append(read())
            return
        match = _FILE.search(base)
        if match:
            kind = match.group(1).upper()
            quarters.add(str(_quarter_of(base)))
            if kind in files:
                raise InputError("file", str(path), f"two {kind} files in one quarter ({files[kind][0]}, {base})")
            files[kind] = (base, read())

    if path.is_dir():
        for member in sorted(p for p in path.rglob("*") if p.is_file()):
            take(str(member.relative_to(path)), member.read_bytes)
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        take(info.filename, lambda info=info: archive.read(info))  # type: ignore[misc]
        except FileNotFoundError:
            raise InputError("file", str(path), "no such file or directory") from None
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as problem:
            raise InputError("file", str(path), f"not a complete zip file (truncated or damaged): {problem}") from None
        except OSError as problem:
            raise InputError("file", str(path), f"cannot read the file: {problem.strerror}") from None
    absent = [k for k in ("DEMO", "DRUG", "REAC") if k not in files]
    if absent:
        raise InputError("file", str(path), f"not a FAERS quarterly ASCII extract: no {absent[0]}yyQq.txt file in it")
    if len(quarters) != 1:
        raise InputError("file", str(path), f"the files belong to several quarters: {', '.join(sorted(quarters))}")
    return {k: v[1] for k, v in files.items()}, deleted, quarters.pop()


def _faers_unit(path: Path) -> tuple[str, dict[str, pl.DataFrame], UnitReport]:
    members, deleted_lists, quarter = _faers_members(path)
    report = UnitReport(name=quarter, status="ingested")
    tables: dict[str, pl.DataFrame] = {}
    for kind in ("DEMO", "DRUG", "REAC", *_OPTIONAL_FILES):
        if kind not in members:
            continue
        label = f"{kind}{quarter[2:4]}Q{quarter[-1]}.TXT"
        raw = members.pop(kind)
        frame, rejected, encoding = _dollar_table(raw, label, _FAERS[kind], _REQUIRED[kind])
        unknown = sorted(set(_header(raw)) - known_columns(kind))
        if unknown:
            report.unknown_columns[label] = unknown
        report.rejects[label] = rejected
        report.encodings[label] = encoding
        tables[_TABLE[kind]] = frame
    demo = tables["cases"]
    legacy = "version" not in demo.columns
    report.layout = "laers" if legacy else "faers"
    for column in ("version", "init_fda_dt", "sex", "age", "age_cod", "country"):
        if column not in demo.columns:
            demo = demo.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    age_years = pl.col("age").cast(pl.Float64, strict=False) * pl.col("age_cod").str.to_uppercase().replace_strict(
        AGE_UNIT_YEARS, default=None, return_dtype=pl.Float64
    )
    sex = pl.col("sex").str.to_uppercase()
    tables["cases"] = demo.select(
        pl.col("primaryid").cast(pl.Int64, strict=False),
        pl.col("caseid").cast(pl.String),
        pl.col("version").cast(pl.Int32, strict=False).fill_null(0),
        _date("fda_dt").alias("fda_dt"),
        pl.coalesce(_date("init_fda_dt"), _date("fda_dt")).alias("init_fda_dt"),
        pl.when(sex.is_in(["F", "M"])).then(sex).otherwise(None).alias("sex"),
        pl.when(age_years.is_between(0, 125)).then(age_years).otherwise(None).alias("age_years"),
        pl.col("country").replace("", None),
        pl.lit(None, dtype=pl.String).alias("strat"),
    )
    bad_ids = tables["cases"].filter(pl.col("primaryid").is_null()).height
    if bad_ids:
        report.rejects[f"DEMO{quarter[2:4]}Q{quarter[-1]}.TXT"] += bad_ids
        tables["cases"] = tables["cases"].filter(pl.col("primaryid").is_not_null())
    drugs = tables["drugs"]
    if "prod_ai" not in drugs.columns:
        drugs = drugs.with_columns(pl.lit(None, dtype=pl.String).alias("prod_ai"))
    if "drug_seq" not in drugs.columns:
        drugs = drugs.with_columns(pl.lit(None, dtype=pl.String).alias("drug_seq"))
    tables["drugs"] = drugs.select(
        pl.col("primaryid").cast(pl.Int64, strict=False),
        pl.col("drug_seq").cast(pl.Int32, strict=False),
        pl.col("role").str.to_uppercase(),
        pl.col("drugname"),
        pl.col("prod_ai").replace("", None),
    ).filter(pl.col("primaryid").is_not_null())
    for name in ("reactions", "outcomes", "sources", "therapies", "indications"):
        if name in tables:
            frame = tables[name].with_columns(pl.col("primaryid").cast(pl.Int64, strict=False))
            if "drug_seq" in frame.columns:
                frame = frame.with_columns(pl.col("drug_seq").cast(pl.Int32, strict=False))
            tables[name] = frame.filter(pl.col("primaryid").is_not_null())
    deleted = sorted(
        {
            line.strip()
            for raw in deleted_lists
            for line in _decode(raw)[0].decode("utf-8").splitlines()
            if line.strip().isdigit()
        }
    )
    tables["deleted"] = pl.DataFrame({"caseid": pl.Series(deleted, dtype=pl.String)})
    return quarter, tables, report


# --- CAERS ------------------------------------------------------------------------------------------------------

# Column aliases: the legacy CAERS export (names as in openEBGM's caers_raw, man/caers_raw.Rd) and the newer
# export (created_date, report_id, ..., terms, outcomes; reference notes §1.6, a secondary source).
_CAERS = {
    "report": ("RA_Report #", "report_id", "Report ID"),
    "product": ("PRI_Reported Brand/Product Name", "product", "Product"),
    "terms": ("SYM_One Row Coded Symptoms", "terms", "MedDRA Preferred Terms"),
    "role": ("PRI_Product Role", "product_type", "Product Type"),
    "date": ("RA_CAERS Created Date", "created_date", "Date FDA First Received Report"),
    "age": ("CI_Age at Adverse Event", "patient_age", "Patient Age"),
    "age_unit": ("CI_Age Unit", "age_units", "Age Units"),
    "sex": ("CI_Gender", "sex", "Sex"),
    "outcomes": ("AEC_One Row Outcomes", "outcomes", "Outcomes"),
}
_CAERS_OUTCOMES = {  # CAERS outcome text -> the FAERS outcome code it corresponds to
    "DEATH": "DE",
    "LIFE THREATENING": "LT",
    "HOSPITALIZATION": "HO",
    "DISABILITY": "DS",
    "CONGENITAL ANOMALY": "CA",
    "REQ. INTERVENTION": "RI",
    "REQUIRED INTERVENTION": "RI",
    "OTHER SERIOUS": "OT",
}


def _caers_unit(path: Path, raw: bytes) -> tuple[dict[str, pl.DataFrame], UnitReport]:
    report = UnitReport(name="", status="ingested", layout="caers")
    data, encoding = _decode(raw)
    report.encodings[path.name] = encoding
    try:
        frame = pl.read_csv(data, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as problem:
        first = str(problem).splitlines()[0] if str(problem) else "unreadable CSV"
        raise InputError("file", str(path), f"not a readable CSV file: {first}") from None
    columns: dict[str, str] = {}
    lowered = {c.strip().lower(): c for c in frame.columns}
    for ours, theirs in _CAERS.items():
        for name in theirs:
            if name.lower() in lowered:
                columns[ours] = lowered[name.lower()]
                break
    for needed in ("report", "product", "terms"):
        if needed not in columns:
            raise InputError(
                "column",
                _CAERS[needed][0],
                f"not a CAERS export: no {_CAERS[needed][0]!r} (or {_CAERS[needed][1]!r}) column",
            )
    if frame.height == 0:
        raise InputError("file", str(path), "the file has a header but no rows")

    def col(name: str) -> pl.Expr:
        return pl.col(columns[name]).str.strip_chars() if name in columns else pl.lit(None, dtype=pl.String)

    rows = frame.select(
        col("report").alias("caseid"),
        col("product").alias("drugname"),
        col("terms").alias("terms"),
        col("role").str.to_uppercase().alias("role"),
        col("date").alias("date"),
        col("age").alias("age"),
        col("age_unit").str.to_uppercase().alias("age_unit"),
        col("sex").str.to_uppercase().alias("sex"),
        col("outcomes").str.to_uppercase().alias("outcomes"),
    )
    blank = rows.filter(pl.col("caseid").is_null() | (pl.col("caseid") == ""))
    report.rejects[path.name] = blank.height
    rows = rows.filter(pl.col("caseid").is_not_null() & (pl.col("caseid") != ""))
    ids = rows.select("caseid").unique(maintain_order=True).with_row_index("primaryid")
    rows = rows.join(ids.with_columns(pl.col("primaryid").cast(pl.Int64)), on="caseid")
    unit_years = {"YEAR(S)": 1.0, "YEARS": 1.0, "MONTH(S)": 1 / 12, "MONTHS": 1 / 12, "WEEK(S)": 7 / 365.25}
    unit_years |= {"DAY(S)": 1 / 365.25, "DAYS": 1 / 365.25, "DECADE(S)": 10.0}
    age = pl.col("age").cast(pl.Float64, strict=False) * pl.col("age_unit").replace_strict(
        unit_years, default=None, return_dtype=pl.Float64
    )
    dates = pl.coalesce(
        pl.col("date").str.strptime(pl.Date, "%m/%d/%Y", strict=False),
        pl.col("date").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
    )
    cases = rows.group_by("primaryid", "caseid").agg(
        dates.first().alias("fda_dt"),
        pl.col("sex").first().replace({"FEMALE": "F", "MALE": "M"}).alias("sex"),
        age.first().alias("age_years"),
        pl.col("outcomes").first(),
        pl.col("terms").first(),
    )
    tables = {
        "cases": cases.select(
            "primaryid",
            "caseid",
            pl.lit(0, dtype=pl.Int32).alias("version"),
            "fda_dt",
            pl.col("fda_dt").alias("init_fda_dt"),
            pl.when(pl.col("sex").is_in(["F", "M"])).then(pl.col("sex")).otherwise(None).alias("sex"),
            pl.when(pl.col("age_years").is_between(0, 125))
            .then(pl.col("age_years"))
            .otherwise(None)
            .alias("age_years"),
            pl.lit(None, dtype=pl.String).alias("country"),
            pl.lit(None, dtype=pl.String).alias("strat"),
        ).sort("primaryid"),
        "drugs": rows.select(
            "primaryid",
            pl.lit(None, dtype=pl.Int32).alias("drug_seq"),
            pl.when(pl.col("role").str.starts_with("SUSPECT"))
            .then(pl.lit("PS"))
            .when(pl.col("role").str.starts_with("CONCOMITANT"))
            .then(pl.lit("C"))
            .otherwise(pl.lit("PS"))
            .alias("role"),
            "drugname",
            pl.lit(None, dtype=pl.String).alias("prod_ai"),
        ).filter(pl.col("drugname").is_not_null() & (pl.col("drugname") != "")),
        # Symptoms and outcomes are one cell per report, comma separated ("split with ', '", openEBGM's vignette).
        "reactions": cases.select("primaryid", pl.col("terms").str.split(", ").alias("pt"))
        .explode("pt")
        .with_columns(pl.col("pt").str.strip_chars())
        .filter(pl.col("pt").is_not_null() & (pl.col("pt") != "")),
        "outcomes": cases.select("primaryid", pl.col("outcomes").str.split(",").alias("o"))
        .explode("o")
        .select(
            "primaryid",
            pl.col("o").str.strip_chars().replace_strict(_CAERS_OUTCOMES, default=None).alias("outc_cod"),
        )
        .filter(pl.col("outc_cod").is_not_null())
        .unique(),
    }
    return tables, report


def _openebgm_unit(path: Path) -> tuple[dict[str, pl.DataFrame], UnitReport]:
    frame = openebgm.read(path)
    strata = openebgm.strata_columns(frame)
    strat = (
        pl.concat_str([pl.col(c).fill_null("") for c in strata], separator="-")
        if strata
        else pl.lit(None, dtype=pl.String)
    )
    frame = frame.with_columns(strat.alias("strat"))
    ids = frame.select(pl.col("id").alias("caseid")).unique(maintain_order=True).with_row_index("primaryid")
    ids = ids.with_columns(pl.col("primaryid").cast(pl.Int64))
    rows = frame.join(ids, left_on="id", right_on="caseid")
    cases = rows.group_by("primaryid").agg(pl.col("id").first().alias("caseid"), pl.col("strat").first())
    tables = {
        "cases": cases.select(
            "primaryid",
            "caseid",
            pl.lit(0, dtype=pl.Int32).alias("version"),
            pl.lit(None, dtype=pl.Date).alias("fda_dt"),
            pl.lit(None, dtype=pl.Date).alias("init_fda_dt"),
            pl.lit(None, dtype=pl.String).alias("sex"),
            pl.lit(None, dtype=pl.Float64).alias("age_years"),
            pl.lit(None, dtype=pl.String).alias("country"),
            "strat",
        ).sort("primaryid"),
        "drugs": rows.select(
            "primaryid",
            pl.lit(None, dtype=pl.Int32).alias("drug_seq"),
            pl.lit("PS").alias("role"),
            pl.col("var1").alias("drugname"),
            pl.lit(None, dtype=pl.String).alias("prod_ai"),
        ).unique(),
        "reactions": rows.select("primaryid", pl.col("var2").alias("pt")).unique(),
        "outcomes": pl.DataFrame(schema={"primaryid": pl.Int64, "outc_cod": pl.String}),
    }
    return tables, UnitReport(name="", status="ingested", layout="openebgm", rejects={path.name: 0})


# --- writing ---------------------------------------------------------------------------------------------------


def _digest_path(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_dir():
        for member in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(member.relative_to(path)).encode())
            digest.update(member.read_bytes())
    else:
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as problem:
            raise InputError("file", str(path), f"cannot read the file: {problem.strerror}") from None
    return digest.hexdigest()


def _expand(paths: list[Path], fmt: str) -> list[Path]:
    """A FAERS folder is one quarter when its files (in any subfolder, e.g. ``ascii/`` and ``deleted/``) belong to
    one quarter and it holds no zip; otherwise each quarter zip and each quarter folder in it is a unit."""
    out: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError("file", str(path), "no such file or directory")
        if fmt == "faers" and path.is_dir():
            zips = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".zip")
            if zips or len(_quarters_in(path)) > 1:
                folders = sorted(p for p in path.iterdir() if p.is_dir() and _quarters_in(p))
                out.extend(sorted(zips + folders))
                continue
        out.append(path)
    return out


def _quarter_of(name: str) -> str | None:
    match = _FILE.search(name)
    if match is None:
        return None
    year = int(match.group(2))
    return f"{2000 + year if year < 90 else 1900 + year}Q{match.group(3)}"


def _quarters_in(path: Path) -> set[str]:
    return {q for p in path.rglob("*") if p.is_file() and (q := _quarter_of(p.name)) is not None}


def _unit_name(path: Path, fmt: str, digest: str) -> str:
    if fmt == "faers":
        return _faers_members_name(path)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.") or fmt
    return f"{stem[:60]}-{digest[:12]}"


def _faers_members_name(path: Path) -> str:
    """The quarter a FAERS zip or folder holds, from its file names only (cheap: nothing is decompressed)."""
    names: list[str] = []
    if path.is_dir():
        names = [p.name for p in path.rglob("*") if p.is_file()]
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                names = [i.filename.replace("\\", "/").split("/")[-1] for i in archive.infolist()]
        except (zipfile.BadZipFile, EOFError) as problem:
            raise InputError("file", str(path), f"not a complete zip file (truncated or damaged): {problem}") from None
    quarters = {q for name in names if (q := _quarter_of(name)) is not None}
    if not quarters:
        raise InputError(
            "file", str(path), "no FAERS quarter here: no quarter zip and no DEMOyyQq.txt, DRUGyyQq.txt, ... file"
        )
    if len(quarters) != 1:
        what = ", ".join(sorted(quarters))
        raise InputError("file", str(path), f"not one FAERS quarterly ASCII extract (quarters found: {what})")
    return quarters.pop()


def ingest(
    paths: list[Path],
    fmt: str = "faers",
    *,
    progress: Progress | None = None,
    replace: bool = False,
    collection: str = "public",
) -> IngestReport:
    """Ingest each path as one unit (see the module docstring); nothing is written for a call whose paths name
    one unit twice, or a unit already ingested from other bytes (unless ``replace``)."""
    if fmt not in FORMATS:
        raise InputError("format", fmt, f"formats are: {', '.join(FORMATS)}")
    if not paths:
        raise InputError("path", "", "give at least one file or directory")
    seconds: dict[str, float] = {"read": 0.0, "write": 0.0}
    expanded = _expand(paths, fmt)
    plan: list[tuple[Path, str, str]] = []
    seen: dict[str, Path] = {}
    existing = dict(units(fmt, collection))
    for path in expanded:
        digest = _digest_path(path)
        name = _unit_name(path, fmt, digest)
        if name in seen:
            raise InputError(
                "file", str(path), f"{name} is given twice (also {seen[name]}); nothing was ingested", code="conflict"
            )
        seen[name] = path
        previous = existing.get(name)
        if previous is not None and previous.get("sha256") != digest and not replace:
            raise InputError(
                "file",
                str(path),
                f"{name} is already ingested from another file ({previous.get('source')}); "
                "use --replace to replace it; nothing was ingested",
                code="conflict",
            )
        plan.append((path, name, digest))
    reports: list[UnitReport] = []
    root = source_dir(fmt, collection)
    root.mkdir(parents=True, exist_ok=True)
    for done, (path, name, digest) in enumerate(plan):
        if progress is not None:
            progress(name, done, len(plan))
        previous = existing.get(name)
        if previous is not None and previous.get("sha256") == digest:
            reports.append(
                UnitReport(
                    name=name,
                    status="unchanged",
                    rows=previous.get("rows", {}),
                    rejects=previous.get("rejects", {}),
                    encodings=previous.get("encodings", {}),
                    unknown_columns=previous.get("unknown_columns", {}),
                    layout=previous.get("layout", ""),
                )
            )
            continue
        started = time.perf_counter()
        if fmt == "faers":
            quarter, tables, report = _faers_unit(path)
            if quarter != name:  # pragma: no cover - both come from the same file names
                raise InputError("file", str(path), f"quarter {quarter} does not match {name}")
        elif fmt == "caers":
            raw = store.read_bytes(path)
            tables, report = _caers_unit(path, raw)
        else:
            tables, report = _openebgm_unit(path)
        report.name = name
        read_done = time.perf_counter()
        seconds["read"] += read_done - started
        report.rows = {table: frame.height for table, frame in tables.items()}
        _write_unit(root, name, tables, report, path, digest)
        seconds["write"] += time.perf_counter() - read_done
        report.seconds = time.perf_counter() - started
        reports.append(report)
    if progress is not None:
        progress("done", len(plan), len(plan))
    return IngestReport(format=fmt, units=reports, seconds=seconds)


def _write_unit(  # noqa: PLR0917
    root: Path, name: str, tables: dict[str, pl.DataFrame], report: UnitReport, path: Path, digest: str
) -> None:
    """Write every table, then the manifest, and swap the unit in whole (``store.swap_in``)."""

    def build(folder: Path) -> None:
        for table, frame in tables.items():
            frame.write_parquet(folder / f"{table}.parquet")
        manifest = {
            "unit": name,
            "format": report.layout,
            "layout": report.layout,
            "source": str(path),
            "sha256": digest,
            "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": report.rows,
            "rejects": report.rejects,
            "encodings": report.encodings,
            "unknown_columns": report.unknown_columns,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")

    store.swap_in(root, name, build)
