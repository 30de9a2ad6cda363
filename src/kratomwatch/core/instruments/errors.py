"""Typed errors of the instrument core.

Every error names the instrument and, where one is involved, the item, its 1-based position and the
offending value, so that a message shown to a clinician or written to a log is enough to find the
problem. Nothing here uses ``assert``: every rule is enforced by raising one of these classes.
"""

from __future__ import annotations

from collections.abc import Sequence


class InstrumentError(Exception):
    """Base class of every error raised by :mod:`kratomwatch.core.instruments`."""


class UnknownInstrument(InstrumentError, LookupError):
    """No definition is registered under ``instrument_id``."""

    def __init__(self, instrument_id: str, known: Sequence[str]) -> None:
        self.instrument_id = instrument_id
        self.known = tuple(known)
        super().__init__(f"unknown instrument {instrument_id!r}; known instruments: {', '.join(self.known)}")


class UnknownScale(InstrumentError, LookupError):
    """The instrument has no scale (total or sub-score) with this id."""

    def __init__(self, instrument: str, scale_id: str, known: Sequence[str]) -> None:
        self.instrument = instrument
        self.scale_id = scale_id
        self.known = tuple(known)
        super().__init__(
            f"{instrument}: unknown scale {scale_id!r}; scales of this instrument: {', '.join(self.known)}"
        )


class WrongAnswerCount(InstrumentError, ValueError):
    """The number of answers differs from the number of items."""

    def __init__(self, instrument: str, expected: int, got: int) -> None:
        self.instrument = instrument
        self.expected = expected
        self.got = got
        super().__init__(
            f"{instrument}: expected {expected} answers (one per item, '-' or None for a blank), got {got}"
        )


class AnswerOutOfRange(InstrumentError, ValueError):
    """An answer is not one of the values the item allows (or is not an integer at all)."""

    def __init__(self, instrument: str, item_id: str, position: int, value: object, allowed: Sequence[int]) -> None:
        self.instrument = instrument
        self.item_id = item_id
        self.position = position
        self.value = value
        self.allowed = tuple(allowed)
        allowed_text = ", ".join(str(v) for v in self.allowed)
        super().__init__(
            f"{instrument}: item {item_id} (position {position}) got {value!r}; allowed values: {allowed_text}"
        )


class UnsupportedMissingPolicy(InstrumentError, ValueError):
    """The instrument has no published rule for this missing-item policy."""

    def __init__(self, instrument: str, policy: str, supported: Sequence[str]) -> None:
        self.instrument = instrument
        self.policy = policy
        self.supported = tuple(supported)
        super().__init__(
            f"{instrument}: missing-item policy {policy!r} is not supported (no published rule); "
            f"supported: {', '.join(self.supported)}"
        )


class AnswerParseError(InstrumentError, ValueError):
    """A command-line token is neither an integer nor the blank marker ``-``."""

    def __init__(self, position: int, token: str) -> None:
        self.position = position
        self.token = token
        super().__init__(f"answer at position {position} is {token!r}: expected an integer, or '-' for a blank answer")


class ScoreOutOfRange(InstrumentError, ValueError):
    """A score handed to change analysis lies outside the range the scale can produce."""

    def __init__(self, instrument: str, scale_id: str, value: float, low: float, high: float) -> None:
        self.instrument = instrument
        self.scale_id = scale_id
        self.value = value
        self.low = low
        self.high = high
        super().__init__(f"{instrument}: scale {scale_id} score {value!r} is outside its range {low}..{high}")


class InstrumentMismatch(InstrumentError, ValueError):
    """A score result belongs to another instrument than the definition it is analysed with."""

    def __init__(self, expected: str, got: str, position: int) -> None:
        self.expected = expected
        self.got = got
        self.position = position
        super().__init__(f"observation {position} was scored with {got!r}, expected {expected!r}")


class MixedTimezones(InstrumentError, ValueError):
    """A trajectory mixes timezone-aware and naive datetimes, which cannot be ordered."""

    def __init__(self, position: int) -> None:
        self.position = position
        super().__init__(
            f"observation {position} mixes a timezone-aware and a naive datetime with the others; "
            "pass all times aware (preferred) or all naive"
        )
