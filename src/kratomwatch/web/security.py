"""Security for the server-rendered pages: response headers (CSP, Permissions-Policy), the client address for
audit events, the two-factor gate for clinicians, program admins and staff, and the view decorators that turn
``kratomwatch.access`` answers into HTTP.

The mapping lives here once: ``NotFound`` (missing, or not yours: the two are the same on purpose) is a 404 and
``Forbidden`` (visible, but the role does not allow the action) is a 403. Views call ``kratomwatch.access``
directly and never catch these themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from kratomwatch import access
from kratomwatch.audit.log import remote_addr_context

Handler = Callable[[HttpRequest], HttpResponse]
View = Callable[..., HttpResponse]


def access_errors(view: View) -> View:
    """``access.NotFound`` -> 404 and ``access.Forbidden`` -> 403 for anything the view raises.

    The 404 says only "not found": it never confirms that a record exists elsewhere."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except access.NotFound:
            raise Http404("not found") from None
        except access.Forbidden as exc:
            raise PermissionDenied(exc.message) from None

    return wrapped


def login_and_access(view: View) -> View:
    """Login required (anonymous -> login page), and access answers mapped to 404/403: the decorator of every
    page that shows one patient's record (patient pages, questionnaires, consent)."""
    return login_required(access_errors(view))


def clinician_required(view: View) -> View:
    """Login required (anonymous -> login page); then 403 for anyone who is not a care-team user
    (``access.is_care_user``); access answers mapped to 404/403."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.is_care_user(request.user):
            raise PermissionDenied("clinician pages are for care-team users")
        return view(request, *args, **kwargs)

    return login_required(access_errors(wrapped))


DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DEFAULT_PERMISSIONS_POLICY = "camera=(), geolocation=(), microphone=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Content-Security-Policy (no inline script or style, no framing) and Permissions-Policy on every response."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.csp = str(getattr(settings, "KRATOMWATCH_CSP", DEFAULT_CSP))
        self.permissions = str(getattr(settings, "KRATOMWATCH_PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.csp)
        response.headers.setdefault("Permissions-Policy", self.permissions)
        return response


class RemoteAddrMiddleware:
    """Expose REMOTE_ADDR to audit.log.Actor.of() for the duration of the request (a contextvar).

    Behind a reverse proxy REMOTE_ADDR is the proxy's address unless the WSGI server rewrites it from a trusted
    forwarding header (see docs/security.md); X-Forwarded-For is never trusted here."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with remote_addr_context(request.META.get("REMOTE_ADDR")):
            return self.get_response(request)


def _exempt_prefixes() -> tuple[str, ...]:
    static = "/" + str(settings.STATIC_URL).lstrip("/")
    return (
        reverse("login"),
        reverse("logout"),
        reverse("two-factor-setup"),
        reverse("two-factor-verify"),
        static,
    )


class TwoFactorRequiredMiddleware:
    """Send a clinician, program admin or staff user whose session is not OTP-verified to enrolment (no device yet)
    or verification (has a device) before any page except login, logout, the 2FA pages and static files.

    API requests: a bearer token is a separate credential and passes unchanged; an unverified *session* is treated
    as anonymous by the API (so it gets the API's 401, never data). Off when settings.KRATOMWATCH_REQUIRE_2FA is off.
    Must follow django_otp.middleware.OTPMiddleware."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from kratomwatch.accounts import twofactor  # noqa: PLC0415 - loaded with the middleware, before the app registry

        user: Any = getattr(request, "user", None)
        if (
            not twofactor.enforced()
            or user is None
            or not user.is_authenticated
            or twofactor.is_verified(user)
            or request.path.startswith(_exempt_prefixes())
            or not twofactor.requires_2fa(user)
        ):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            request.user = AnonymousUser()
            return self.get_response(request)
        target = "two-factor-verify" if twofactor.has_confirmed_device(user) else "two-factor-setup"
        return HttpResponseRedirect(reverse(target) + "?" + urlencode({"next": request.get_full_path()}))
