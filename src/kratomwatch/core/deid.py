"""De-identification for research exports: study IDs, date shifts, ages, and k-anonymity. Pure: no Django, no I/O,
no clock. Row-wise work is vectorised with NumPy (the core may not import Polars; ``research/export.py`` hands the
columns of its Polars frames in and joins the results back).

**Study ID.** ``S-`` + 12 base32 characters (60 bits) of HMAC-SHA256(project key, ``"id:" + internal id``). The
project key is itself HMAC-SHA256(the site's research secret, ``"project:" + project name``), so two exports of
one project give a patient the same study ID (they link) and two projects give unrelated IDs (they do not), and
the secret never leaves the server. Without the secret a study ID cannot be traced back to the internal id.

**Date shift.** Each patient gets one offset of -180..-1 or +1..+180 days (never 0), drawn from
HMAC-SHA256(project key, ``"shift:" + internal id``): every date of the patient moves by the same amount, so
intervals within the patient are exact, while calendar dates no longer are. Alternatively dates are given as
study days (days since enrolment, day 0 the day of enrolment), see :func:`study_days`.

**Age.** Only the birth year is held: the age at enrolment is the enrolment year minus the birth year; 90 and over
are collapsed into one ``90+`` category (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C): "all elements of dates
(except year) ... and all ages over 89 ... aggregated into a single category of age 90 or older",
https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/section-164.514, as of 2026-12-02).

**k-anonymity** (Sweeney 2002, doi:10.1142/S0218488502001648): every combination of the quasi-identifiers (age
band, sex, jurisdiction, conditions) that is released is shared by at least ``k`` participants. Global recoding
climbs :data:`LADDER` (wider age bands, country instead of state, condition groups, sex grouped) until at most
``max_suppression`` of the rows sit in classes smaller than ``k``; those rows then have every quasi-identifier
suppressed (``*``). If fewer than ``k`` rows end up suppressed, the suppressed class would itself be small, so
those participants are withheld from the release altogether (``released`` False).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kratomwatch.core.errors import InputError

SAFE_HARBOR_URL = "https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/section-164.514"
"""45 CFR 164.514(b)(2): the Safe Harbor list of identifiers (ages over 89: (b)(2)(i)(C))."""

AGE_TOP = 90
"""Ages at or above this are one category, ``90+`` (Safe Harbor)."""
AGE_TOP_LABEL = "90+"
SHIFT_MAX_DAYS = 180
DEFAULT_K = 5
MIN_K = 2
MIN_SECRET_CHARS = 16
DEFAULT_MAX_SUPPRESSION = 0.05
SUPPRESSED = "*"
STUDY_ID_PREFIX = "S-"
STUDY_ID_CHARS = 12

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

CONDITION_GROUPS: dict[str, str] = {
    "chronic_pain": "pain",
    "neuropathic_pain": "pain",
    "opioid_use_disorder": "substance_use",
    "kratom_use_disorder": "substance_use",
    "depression": "mental_health",
    "anxiety": "mental_health",
    "adhd": "mental_health",
    "other": "other",
}
"""Condition codes (``records.Condition``) -> the group a generalised release shows."""

SEX_GROUPS: dict[str, str] = {"female": "female", "male": "male", "intersex": "other_or_unknown"}
"""Sex as a generalised release shows it: the rare categories together (``unknown`` included)."""


@dataclass(frozen=True)
class ProjectKey:
    """The key of one export project (derived from the site's secret; never written anywhere)."""

    project: str
    key: bytes = field(repr=False)


def project_key(secret: str, project: str) -> ProjectKey:
    """The project's key: HMAC-SHA256(secret, ``"project:" + project``). ``InputError`` for a short secret (field
    ``research_secret``) or an empty project name (field ``project``)."""
    if len(secret) < MIN_SECRET_CHARS:
        raise InputError(
            "research_secret", "(hidden)", f"the research secret must be at least {MIN_SECRET_CHARS} characters long"
        )
    if not project.strip():
        raise InputError("project", project, "the export project needs a name")
    digest = hmac.new(secret.encode("utf-8"), b"project:" + project.encode("utf-8"), hashlib.sha256).digest()
    return ProjectKey(project, digest)


def _mac(key: ProjectKey, label: str, internal_id: int) -> bytes:
    return hmac.new(key.key, f"{label}:{int(internal_id)}".encode("ascii"), hashlib.sha256).digest()


def study_id(key: ProjectKey, internal_id: int) -> str:
    """``S-`` + 12 base32 characters of the keyed hash of the internal id."""
    text = base64.b32encode(_mac(key, "id", internal_id)).decode("ascii")
    return STUDY_ID_PREFIX + text[:STUDY_ID_CHARS]


def study_ids(key: ProjectKey, internal_ids: Sequence[int]) -> list[str]:
    """:func:`study_id` of each id (one keyed hash per patient, not per row of data). ``ValueError`` on the
    astronomically unlikely collision of two patients, so a collision can never merge two people silently."""
    out = [study_id(key, i) for i in internal_ids]
    if len(set(out)) != len(set(internal_ids)):
        raise ValueError("two patients received the same study ID; choose another project name")
    return out


def shift_days(key: ProjectKey, internal_id: int) -> int:
    """The patient's date offset: -180..-1 or +1..+180 days, uniform over the 360 values, never 0."""
    draw = int.from_bytes(_mac(key, "shift", internal_id)[:8], "big") % (2 * SHIFT_MAX_DAYS)
    return draw - SHIFT_MAX_DAYS if draw < SHIFT_MAX_DAYS else draw - SHIFT_MAX_DAYS + 1


def date_shifts(key: ProjectKey, internal_ids: Sequence[int]) -> IntArray:
    """:func:`shift_days` of each id."""
    return np.fromiter((shift_days(key, i) for i in internal_ids), dtype=np.int64, count=len(internal_ids))


def study_days(days: npt.ArrayLike, enrolment_days: npt.ArrayLike) -> IntArray:
    """Days since enrolment (day 0 = the day of enrolment; negative before it). Both as day numbers (e.g. days since
    1970-01-01), element-wise."""
    return np.asarray(days, dtype=np.int64) - np.asarray(enrolment_days, dtype=np.int64)


def ages_at_enrolment(birth_years: npt.ArrayLike, enrolment_years: npt.ArrayLike) -> IntArray:
    """Enrolment year minus birth year (only the birth year is held), element-wise. ``InputError`` on a negative
    age (a birth after enrolment)."""
    ages = np.asarray(enrolment_years, dtype=np.int64) - np.asarray(birth_years, dtype=np.int64)
    if ages.size and int(ages.min()) < 0:
        raise InputError("birth_year", int(np.asarray(birth_years).max()), "a birth year after the enrolment year")
    return ages


def age_labels(ages: npt.ArrayLike) -> StrArray:
    """Each age as text, 90 and over as ``90+`` (Safe Harbor)."""
    a = np.asarray(ages, dtype=np.int64)
    return np.where(a >= AGE_TOP, AGE_TOP_LABEL, a.astype(str)).astype(str)


def age_bands(ages: npt.ArrayLike, width: int) -> StrArray:
    """Each age in a band of ``width`` years (``40-44`` for 5), with one top band ``90+`` (or the band that holds
    90, open-ended, when ``width`` does not divide 90: ``80+`` for 20)."""
    if width < 1:
        raise InputError("width", width, "an age band is at least one year wide")
    a = np.asarray(ages, dtype=np.int64)
    low = (a // width) * width
    top = (AGE_TOP // width) * width
    label = np.char.add(np.char.add(low.astype(str), "-"), (low + width - 1).astype(str))
    return np.where(a >= top, f"{top}+", label).astype(str)


def generalise_jurisdiction(codes: Sequence[str] | StrArray) -> StrArray:
    """ISO 3166-2 subdivision -> its country (``US-TX`` -> ``US``); a country stays."""
    arr = np.asarray(codes, dtype=str)
    return np.asarray(np.char.partition(arr, "-")[..., 0] if arr.size else arr, dtype=str)


def _map(values: StrArray, table: dict[str, str], default: str) -> StrArray:
    if values.size == 0:
        return values
    keys, inverse = np.unique(values, return_inverse=True)
    mapped = np.asarray([table.get(str(k), default) for k in keys], dtype=str)
    return np.asarray(mapped[inverse], dtype=str)


def generalise_conditions(condition_sets: Sequence[str] | StrArray) -> StrArray:
    """``|``-joined sorted condition codes -> ``|``-joined sorted groups (one mapping per distinct set)."""
    arr = np.asarray(condition_sets, dtype=str)

    def group(text: str) -> str:
        return "|".join(sorted({CONDITION_GROUPS.get(c, "other") for c in text.split("|") if c}))

    if arr.size == 0:
        return arr
    keys, inverse = np.unique(arr, return_inverse=True)
    return np.asarray(np.asarray([group(str(k)) for k in keys], dtype=str)[inverse], dtype=str)


@dataclass(frozen=True)
class Generalisation:
    """One rung of the recoding ladder."""

    level: int
    age_width: int
    country_only: bool
    condition_groups: bool
    sex_grouped: bool

    def describe(self) -> str:
        parts = [f"age in {self.age_width}-year bands ({AGE_TOP_LABEL} top)"]
        parts.append("country" if self.country_only else "jurisdiction as recorded")
        parts.append("condition groups" if self.condition_groups else "conditions as recorded")
        parts.append("sex grouped (female, male, other or unknown)" if self.sex_grouped else "sex as recorded")
        return "; ".join(parts)


LADDER: tuple[Generalisation, ...] = (
    Generalisation(0, 5, False, False, False),
    Generalisation(1, 10, False, False, False),
    Generalisation(2, 10, True, False, False),
    Generalisation(3, 10, True, True, False),
    Generalisation(4, 20, True, True, True),
)


@dataclass(frozen=True)
class KAnonymity:
    """The released quasi-identifiers (``*`` where suppressed) and how they were reached."""

    k: int
    generalisation: Generalisation
    age_band: StrArray
    sex: StrArray
    jurisdiction: StrArray
    conditions: StrArray
    suppressed: BoolArray
    """Rows whose quasi-identifiers are all ``*``."""
    released: BoolArray
    """Rows in the release (False: withheld, because fewer than ``k`` rows were suppressed)."""
    small_rows_by_level: tuple[int, ...]
    """Rows in classes below ``k`` at each rung tried."""

    def classes(self) -> list[tuple[str, str, str, str, int]]:
        """Every released equivalence class and its size, largest first (then by value)."""
        m = self.released
        if not m.any():
            return []
        keys = np.stack([self.age_band[m], self.sex[m], self.jurisdiction[m], self.conditions[m]], axis=1)
        uniq, counts = np.unique(keys, axis=0, return_counts=True)
        rows = [(str(a), str(s), str(j), str(c), int(n)) for (a, s, j, c), n in zip(uniq, counts, strict=True)]
        return sorted(rows, key=lambda r: (-r[4], r[:4]))


def _qis(
    g: Generalisation, ages: IntArray, sex: StrArray, jurisdiction: StrArray, conditions: StrArray
) -> tuple[StrArray, StrArray, StrArray, StrArray]:
    return (
        age_bands(ages, g.age_width),
        _map(sex, SEX_GROUPS, "other_or_unknown") if g.sex_grouped else sex,
        generalise_jurisdiction(jurisdiction) if g.country_only else jurisdiction,
        generalise_conditions(conditions) if g.condition_groups else conditions,
    )


def _small(columns: tuple[StrArray, ...], k: int) -> BoolArray:
    n = columns[0].size
    if n == 0:
        return np.zeros(0, dtype=bool)
    keys = np.stack(columns, axis=1)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return np.asarray(counts[inverse.reshape(-1)] < k, dtype=bool)


def check_k(k: int) -> int:
    """``k`` itself, or ``InputError`` naming ``k`` when it is below 2 (k = 1 protects no one)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < MIN_K:
        raise InputError("k", k, f"k must be a whole number of at least {MIN_K} (k = 1 hides no one)")
    return k


def k_anonymise(
    ages: npt.ArrayLike,
    sex: Sequence[str] | StrArray,
    jurisdiction: Sequence[str] | StrArray,
    conditions: Sequence[str] | StrArray,
    *,
    k: int = DEFAULT_K,
    max_suppression: float = DEFAULT_MAX_SUPPRESSION,
) -> KAnonymity:
    """Generalise then suppress until every released class has at least ``k`` rows (module docstring).

    ``conditions``: each row's sorted condition codes joined by ``|`` (empty for none). The lowest rung of
    :data:`LADDER` whose small-class rows are at most ``max_suppression`` of all rows is used; if none is, the
    rung with the fewest such rows (the lower rung on a tie)."""
    check_k(k)
    if not 0.0 <= max_suppression <= 1.0:
        raise InputError("max_suppression", max_suppression, "max_suppression is a fraction between 0 and 1")
    a = np.asarray(ages, dtype=np.int64)
    s, j, c = (np.asarray(x, dtype=str) for x in (sex, jurisdiction, conditions))
    if not (a.size == s.size == j.size == c.size):
        raise InputError("conditions", c.size, "every quasi-identifier needs one value per row")
    n = a.size
    smalls: list[int] = []
    chosen: tuple[Generalisation, tuple[StrArray, ...], BoolArray] | None = None
    best: tuple[int, Generalisation, tuple[StrArray, ...], BoolArray] | None = None
    for g in LADDER:
        cols = _qis(g, a, s, j, c)
        small = _small(cols, k)
        count = int(small.sum())
        smalls.append(count)
        if best is None or count < best[0]:
            best = (count, g, cols, small)
        if count <= max_suppression * n:
            chosen = (g, cols, small)
            break
    if chosen is None:
        assert best is not None  # LADDER is not empty
        chosen = best[1:]
    g, released_cols, small = chosen
    released = np.ones(n, dtype=bool)
    if 0 < int(small.sum()) < k:
        released = ~small
    out = tuple(np.where(small, SUPPRESSED, col).astype(str) for col in released_cols)
    return KAnonymity(k, g, out[0], out[1], out[2], out[3], small, released, tuple(smalls))
