"""Account pages: API tokens (list, create once-shown, revoke) and TOTP two-factor enrolment and verification."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from kratomwatch.accounts import twofactor
from kratomwatch.accounts.actions import confirm_totp_device, issue_token, revoke_token
from kratomwatch.accounts.models import ApiToken
from kratomwatch.audit.log import Actor, record


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return str(settings.LOGIN_REDIRECT_URL)


# ---- API tokens ---------------------------------------------------------------------------------------------

#: Session key holding a just-created token until the page after the redirect has shown it once.
NEW_TOKEN_KEY = "kw_new_api_token"  # noqa: S105 - a session key name, not a secret


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """Post-redirect-get: a new token is kept in the session for the one page view that shows it, then dropped,
    so reloading the page neither shows it again nor creates a second token."""
    raw: str | None = request.session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None
    error: str | None = None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if not name or len(name) > 100:
            error = "Give the token a name of 1 to 100 characters (for example the device or script using it)."
        else:
            request.session[NEW_TOKEN_KEY] = issue_token(actor=Actor.of(request.user), user=request.user, name=name)
            return redirect("account-tokens")
    rows = ApiToken.objects.filter(user_id=int(request.user.pk or 0)).order_by("-created_at", "-id")
    status = 400 if error else 200
    return render(request, "web/account_tokens.html", {"tokens": rows, "raw": raw, "error": error}, status=status)


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user, revoked_at__isnull=True)
    revoke_token(actor=Actor.of(request.user), token=token)
    messages.success(request, f"Token {token.name} ({token.prefix}...) revoked.")
    return redirect("account-tokens")


# ---- two-factor ---------------------------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app. A user who already has a device must verify with it before adding another,
    so a stolen password alone can never enrol the attacker's phone."""
    if twofactor.has_confirmed_device(request.user) and not twofactor.is_verified(request.user):
        return HttpResponseRedirect(reverse("two-factor-verify") + "?" + urlencode({"next": _next_url(request)}))
    device = twofactor.pending_device(request.user)
    error = None
    if request.method == "POST":
        if twofactor.check_token(device, request.POST.get("otp_token", "")):
            confirm_totp_device(actor=Actor.of(request.user), device=device)
            otp_login(request, device)
            messages.success(request, "Two-factor authentication is on for your account.")
            return HttpResponseRedirect(_next_url(request))
        record(Actor.of(request.user), "auth.2fa.enrol_failed", object_type="otp_device", object_id=device.pk)
        error = "That code did not match. Check the time on your phone and try the current code."
    uri = device.config_url
    context = {
        "uri": uri,
        "secret": twofactor.secret_base32(device),
        "qr": twofactor.qr_data_uri(uri),
        "error": error,
        "next": _next_url(request),
        "enrolled": twofactor.has_confirmed_device(request.user),
        "required": twofactor.enforced() and twofactor.requires_2fa(request.user),
    }
    return render(request, "web/two_factor_setup.html", context, status=400 if error else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return HttpResponseRedirect(reverse("two-factor-setup") + "?" + urlencode({"next": _next_url(request)}))
    error = None
    if request.method == "POST":
        token = request.POST.get("otp_token", "")
        for device in devices:
            if twofactor.check_token(device, token):
                otp_login(request, device)
                record(Actor.of(request.user), "auth.2fa.verify", object_type="otp_device", object_id=device.pk)
                return HttpResponseRedirect(_next_url(request))
        record(Actor.of(request.user), "auth.2fa.verify_failed", object_type="user", object_id=request.user.pk)
        error = "That code did not match (or too many recent failures: wait a little and retry)."
    return render(
        request,
        "web/two_factor_verify.html",
        {"error": error, "next": _next_url(request)},
        status=400 if error else 200,
    )
