"""Styled error pages (400, 403, 404, 500) that say why in plain words and link back to the user's home.

``handler403`` / ``handler404`` / ``handler500`` in the root URLconf point here. :class:`ErrorPagesMiddleware` makes
the same pages answer in DEBUG too (where Django would show its technical 404 page) and maps a
``core.errors.NotFound`` / ``Forbidden`` that a view let through to 404 / 403 instead of a 500. API answers
(``/api/``) keep their JSON error shape. :class:`NoTracebackFor4xx` keeps the console quiet: an ordinary 403 or 404
is one WARNING line, without a traceback. A web form whose text holds a NUL character (``\\x00``, which no text
column can keep) is refused here for every page at once with a 400 page naming the field, before any view runs
(the API refuses it in ``api/app.py`` by the same ``records.validation.refuse_nul``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.utils.log import log_response

from kratomwatch.core.errors import Forbidden, InputError, NotFound

Handler = Callable[[HttpRequest], HttpResponse]

# The first matching path prefix says whom a page is for.
FOR_WHOM: tuple[tuple[str, str], ...] = (
    ("/clinic/", "This page is for the care team (clinicians and program admins)."),
    ("/program/", "This page is for program admins."),
    ("/audit/", "The audit trail is for program admins and site staff."),
    ("/research/", "This page is for researchers."),
    ("/staff/", "This page is for site staff."),
    ("/me/", "This page is for patients, about their own record."),
)
DEFAULT_403 = "Your login does not open this page."
STYLED = "_kw_styled_error"


def _mark(response: HttpResponse) -> HttpResponse:
    setattr(response, STYLED, True)
    return response


def reason_403(path: str) -> str:
    for prefix, reason in FOR_WHOM:
        if path.startswith(prefix):
            return reason
    return DEFAULT_403


def page_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    context = {"reason": reason_403(request.path), "show_stance": True}
    return _mark(render(request, "web/errors/403.html", context, status=403))


def page_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _mark(render(request, "web/errors/404.html", {"show_stance": True}, status=404))


def page_500(request: HttpRequest) -> HttpResponse:
    """No context processors here (the database may be what failed): the page needs no query to render."""
    html = loader.get_template("web/errors/500.html").render({"request": request})
    return _mark(HttpResponse(html, status=500))


def page_400_nul(request: HttpRequest, field: str) -> HttpResponse:
    from kratomwatch.web.forms import field_label  # noqa: PLC0415 - loads models; settings import this module

    context = {"field": field_label(field.split(".", 1)[0]), "show_stance": True}
    return _mark(render(request, "web/errors/400_nul.html", context, status=400))


def _nul_field(request: HttpRequest) -> str | None:
    """The first form field (never an uploaded file) whose text holds a NUL character, or None."""
    if request.method != "POST" or request.path.startswith("/api/"):
        return None
    from kratomwatch.records.validation import refuse_nul  # noqa: PLC0415 - as above: models, apps not ready yet

    try:
        refuse_nul({key: request.POST.getlist(key) for key in request.POST})
    except InputError as exc:
        return exc.field
    return None


def _wants_page(request: HttpRequest, response: HttpResponse | None = None) -> bool:
    if request.path.startswith("/api/"):
        return False
    return response is None or str(response.get("Content-Type", "")).startswith("text/html")


class ErrorPagesMiddleware:
    """Styled 403/404 pages wherever Django would answer otherwise (see the module docstring)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nul_field = _nul_field(request)
        if nul_field is not None:
            log_response("Bad Request: %s", request.path, response=HttpResponse(status=400), request=request)
            return page_400_nul(request, nul_field)
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and not getattr(response, STYLED, False)
            and _wants_page(request, response)
            and not request.path.startswith(("/admin/", str(settings.STATIC_URL)))
        ):
            return page_404(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _wants_page(request) or not isinstance(exception, (NotFound, Forbidden)):
            return None
        if isinstance(exception, Forbidden):
            response = page_403(request, exception)
            log_response("Forbidden: %s", request.path, response=response, request=request)
        else:
            response = page_404(request, exception)
            log_response("Not Found: %s", request.path, response=response, request=request)
        return response


class NoTracebackFor4xx(logging.Filter):
    """Drop the traceback from a ``django.request`` record about a 4xx answer: a refused or missing page is an
    ordinary event, logged once at WARNING. 5xx records keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
