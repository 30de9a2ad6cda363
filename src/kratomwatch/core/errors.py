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


class NotFound(InputError):
    """The object does not exist or the user may not see it (the two are indistinguishable on purpose)."""

    code = "not_found"


class Forbidden(InputError):
    """The user may see the object but their role does not allow this action (HTTP 403)."""

    code = "forbidden"


class Conflict(InputError):
    """The request contradicts what is stored: a duplicate, or a repeat with different content (HTTP 409)."""

    code = "conflict"
