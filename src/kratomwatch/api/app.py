"""JSON API under /api/v1/ (django-ninja). OpenAPI at /api/v1/docs.

One error shape everywhere: ``{"error": {"code": ..., "message": ..., "field": ...}}``.
Auth: ``Authorization: Bearer <token>`` (per-user, revocable) or the Django session.
"""

import datetime as dt
import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
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
