"""The one error type for bad input: names the field and the value, for every adapter to report."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input. ``field`` and ``value`` say exactly what was wrong; ``code`` is machine-readable."""

    code = "invalid"

    def __init__(self, field: str, value: object, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.message = message
        if code is not None:
            self.code = code
