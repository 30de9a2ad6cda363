"""JSON API under /api/v1/ (django-ninja). OpenAPI at /api/v1/docs.

One error shape everywhere: ``{"error": {"code": ..., "message": ..., "field": ...}}``.
Auth: ``Authorization: Bearer <token>`` (per-user, revocable) or the Django session.
"""

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.operation import Operation
from ninja.parser import Parser
from ninja.security import APIKeyCookie, HttpBearer

from kratomwatch.accounts.models import ApiToken, hash_token
from kratomwatch.core.errors import InputError, NotFound
from kratomwatch.records.validation import refuse_nul

log = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=hash_token(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if row is None:
            return None
        now = timezone.now()
        # "Last used" to the minute: no write (and no write lock on SQLite) on every request of a busy client.
        if row.last_used_at is None or now - row.last_used_at >= dt.timedelta(minutes=1):
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class SessionAuth(APIKeyCookie):
    """The Django session (for the web app's own pages); CSRF is enforced by the base class."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        # No logged-in session: nothing for CSRF to protect, and the answer is 401 (not "CSRF check Failed").
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


class RefuseNulParser(Parser):
    """JSON bodies and query strings with a NUL character (``\\x00``) anywhere are refused naming the field (D11)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        refuse_nul(data)  # ninja wraps this InputError in an HttpError; _http_error answers it as itself
        return data

    def parse_querydict(self, data: Any, list_fields: list[str], request: HttpRequest) -> dict[str, Any]:
        parsed = super().parse_querydict(data, list_fields, request)
        refuse_nul(parsed)
        return parsed


api = NinjaAPI(
    title="kratomwatch API",
    version="1",
    description=(
        "Clinical monitoring of kratom use. kratomwatch measures, screens, flags and cites; it never recommends a dose."
    ),
    auth=[TokenAuth(), SessionAuth()],
    docs_url="/docs",
    parser=RefuseNulParser(),
)


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None


class ErrorOut(Schema):
    """The one error shape of every 4xx answer."""

    error: ErrorDetail


def error(request: HttpRequest, status: int, code: str, message: str, field: str | None = None) -> HttpResponse:
    return api.create_response(request, {"error": {"code": code, "message": message, "field": field}}, status=status)


_STATUS = {"conflict": 409, "consent_required": 403, "forbidden": 403}


@api.exception_handler(InputError)
def _input_error(request: HttpRequest, exc: InputError) -> HttpResponse:
    status = 404 if isinstance(exc, NotFound) else _STATUS.get(exc.code, 400)
    return error(request, status, exc.code, exc.message, exc.field)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "payload")]
    field = ".".join(loc) or None
    value = first.get("input")
    shown = "" if isinstance(value, dict | list) or value is None else f" (got {value!r})"
    message = f"{field or 'request'}: {first.get('msg', 'invalid value')}{shown}"
    return error(request, 422, "validation_error", message, field)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(request, 401, "unauthenticated", "authentication required (Bearer token or session)")


@api.exception_handler(AuthorizationError)
def _authz_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return error(request, 403, "forbidden", str(exc) or "not allowed")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "not_found", str(exc) or "not found")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, InputError):  # refused while parsing the body (RefuseNulParser)
        return _input_error(request, exc.__cause__)
    code = {403: "forbidden", 404: "not_found", 409: "conflict"}.get(exc.status_code, "error")
    return error(request, exc.status_code, code, str(exc))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unhandled API error on %s", request.path)
    return error(request, 500, "internal_error", "internal error; it has been logged")


@api.get("/health", auth=None, tags=["meta"])
def health(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok", "time": dt.datetime.now(dt.UTC).isoformat()}


from kratomwatch.api import records as _records  # noqa: E402  (registers the record routers)

api.add_router("/", _records.router)

from kratomwatch.api import assessments as _assessments  # noqa: E402  (registers the assessment routers)

api.add_router("/", _assessments.router)

from kratomwatch.api import knowledge as _knowledge  # noqa: E402

api.add_router("/", _knowledge.router)

from kratomwatch.api import consent as _consent  # noqa: E402

api.add_router("/", _consent.router)

from kratomwatch.api import alerts as _alerts  # noqa: E402

api.add_router("/", _alerts.router)

from kratomwatch.api import careplans as _careplans  # noqa: E402

api.add_router("/", _careplans.router)

from kratomwatch.api import accounts as _accounts  # noqa: E402

api.add_router("/", _accounts.router)

from kratomwatch.api import corrections as _corrections  # noqa: E402  (void and correct entries)

api.add_router("/", _corrections.router)

from kratomwatch.api import research as _research  # noqa: E402  (the de-identified research export)

api.add_router("/", _research.router)

from kratomwatch.api import nof1 as _nof1  # noqa: E402  (n-of-1 trials)

api.add_router("/", _nof1.router)

from kratomwatch.api import claims as _claims  # noqa: E402  (the claim checker: no patient data)

api.add_router("/", _claims.router)

from kratomwatch.api import surveillance as _surveillance  # noqa: E402  (public adverse-event reports: no patient data)

api.add_router("/", _surveillance.router)


# --- The API contract: every operation documents the errors it can answer (D16) ---------------------------------

#: The error statuses an operation can answer, by what it takes. 409 (a duplicate, or a repeat with different
#: content) can only come from a write; 404 from an input that names something (or that it may not see).
_AUTH_ERRORS = (401, 403)
_INPUT_ERRORS = (400, 404, 422)
_WRITE_ERRORS = (409,)
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def error_statuses(operation: Operation) -> list[int]:
    """The 4xx statuses ``operation`` documents, all in the :class:`ErrorOut` shape."""
    statuses: list[int] = []
    if operation.auth_callbacks:
        statuses += _AUTH_ERRORS
    if operation.models:
        statuses += _INPUT_ERRORS
    if _WRITES & set(operation.methods):
        statuses += _WRITE_ERRORS
    return sorted(statuses)


def _answers_with(status: int, view: Callable[..., Any]) -> Callable[..., Any]:
    """``view`` whose plain result is sent with ``status`` (ninja's default when an operation had one response)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = view(*args, **kwargs)
        return result if isinstance(result, Status | HttpResponseBase | tuple) else Status(status, result)

    return wrapped


def document_errors(ninja_api: NinjaAPI) -> None:
    """Add the error responses of :func:`error_statuses` to every operation of ``ninja_api`` (OpenAPI and runtime)."""
    # ninja's wrapper for a response model: one field, ``response``.
    error_model = type("NinjaResponseSchema", (Schema,), {"__annotations__": {"response": ErrorOut}})
    for bound in ninja_api._get_bound_routers():
        for path_view in bound.path_operations.values():
            for operation in path_view.operations:
                statuses = error_statuses(operation)
                success = list(operation.response_models)
                if statuses and len(success) == 1 and success[0] != 200:
                    operation.view_func = _answers_with(success[0], operation.view_func)
                for status in statuses:
                    operation.response_models.setdefault(status, error_model)


document_errors(api)
