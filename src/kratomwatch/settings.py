"""One settings module, driven by the environment.

* ``DATABASE_URL`` selects the database (``postgres://...`` in production); SQLite under ./var/ is the default.
* ``KRATOMWATCH_DEBUG`` is off unless set to 1 (``make run``, the demo and the test suite turn it on).
* ``KRATOMWATCH_SECRET_KEY`` is required when ``KRATOMWATCH_DEBUG`` is off; a development key is
  generated per checkout otherwise (never committed).
* ``KRATOMWATCH_CONN_MAX_AGE`` (default 0: one connection per request, never leaked by a threaded server);
  ``kratomwatch serve --production`` sets 60 for its single-threaded workers (one connection each, health-checked).
* ``KRATOMWATCH_ALLOWED_HOSTS`` is a comma-separated list.
* ``KRATOMWATCH_RESEARCH_SECRET`` keys research exports (docs/research.md); in development only, a generated one
  stands in when it is not set (``KRATOMWATCH_RESEARCH_DEV_SECRET=0`` turns that off).
* ``KRATOMWATCH_REQUIRE_2FA`` (default: on unless ``KRATOMWATCH_DEBUG`` is on) makes clinicians, program
  admins and staff enrol and verify a TOTP device before they see any page (docs/security.md).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext

django_stubs_ext.monkeypatch()

BASE_DIR = Path(os.environ.get("KRATOMWATCH_HOME", Path.cwd())).resolve()
VAR_DIR = BASE_DIR / "var"


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("KRATOMWATCH_DEBUG", False)


def _secret_key() -> str:
    key = os.environ.get("KRATOMWATCH_SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise RuntimeError(
            "KRATOMWATCH_SECRET_KEY must be set when KRATOMWATCH_DEBUG is off "
            "(production; docs/operations.md), or set KRATOMWATCH_DEBUG=1 for development and the demo"
        )
    return _dev_secret("dev-secret-key")


def _dev_secret(name: str) -> str:
    """Development only: a random secret generated once per checkout under var/ (never committed)."""
    path = VAR_DIR / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key


SECRET_KEY = _secret_key()
# Development and the demo only (DEBUG on): the research secret when KRATOMWATCH_RESEARCH_SECRET is not set, so the
# demo's researcher can export and analyse out of the box. Production sets the real one (docs/operations.md);
# KRATOMWATCH_RESEARCH_DEV_SECRET=0 turns the fallback off (the test suite does).
RESEARCH_DEV_SECRET = (
    _dev_secret("dev-research-secret") if DEBUG and _env_bool("KRATOMWATCH_RESEARCH_DEV_SECRET", True) else None
)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("KRATOMWATCH_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves the Swagger UI assets locally (no CDN, no inline script: CSP-compatible)
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",  # background tasks (backport of Django 6's django.tasks); docs/operations.md
    "django_tasks_db",  # ... stored in the database and run by `kratomwatch worker`
    "kratomwatch.accounts",
    "kratomwatch.audit",
    "kratomwatch.records",
    "kratomwatch.assessments",
    "kratomwatch.alerts",
    "kratomwatch.consent",
    "kratomwatch.careplans",
    "kratomwatch.notifications",
    "kratomwatch.jobs",
    "kratomwatch.research",
    "kratomwatch.nof1",
    "kratomwatch.web",
]

MIDDLEWARE = [
    "kratomwatch.requestlog.RequestLogMiddleware",  # one JSON line per request (outermost: times everything)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files served by the app itself, DEBUG on or off
    "kratomwatch.web.security.SecurityHeadersMiddleware",
    "kratomwatch.web.security.RemoteAddrMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "kratomwatch.web.security.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Styled 403/404 pages in DEBUG too, and core NotFound/Forbidden a view let through as 404/403 (web/errors.py).
    "kratomwatch.web.errors.ErrorPagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-axes must come last: it turns a lockout raised during authentication into a 429 page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses authentication for a locked-out username+address before the password is checked.
    "kratomwatch.accounts.backends.ThrottledBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "kratomwatch.urls"
WSGI_APPLICATION = "kratomwatch.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kratomwatch.web.nav.menu",  # the header menu of the user's roles (web/nav.py)
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'kratomwatch.sqlite3'}"),
        # 0 by default: Django's threaded development server would otherwise keep one connection per dead
        # thread until PostgreSQL runs out (review D1). `serve --production` sets 60 for its sync workers.
        conn_max_age=int(os.environ.get("KRATOMWATCH_CONN_MAX_AGE", "0")),
        # A persistent connection is tested before each request reuses it: a restarted PostgreSQL is reconnected.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets readers proceed while a writer works; the timeout rides out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves /static/ from the app. `serve --production` runs collectstatic (compressed copies in
# STATIC_ROOT) and then serves only those (KRATOMWATCH_STATIC_FINDERS=0); elsewhere files come from the apps.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = _env_bool("KRATOMWATCH_STATIC_FINDERS", True)
WHITENOISE_MAX_AGE = 3600

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"  # "/" (name home) sends each role to its home (web/views.py, web/nav.py)
LOGOUT_REDIRECT_URL = "/login/"

# Login throttling (django-axes): the 5th failure within the cool-off window locks that username from that
# address; every attempt while locked (even with the right password) is refused with 429 until it expires.
AXES_VERBOSE = False  # no start-up banner on every command
AXES_FAILURE_LIMIT = int(os.environ.get("KRATOMWATCH_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("KRATOMWATCH_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token", "token"]

# Two-factor authentication (django-otp TOTP). Required for clinicians, program admins and staff unless
# turned off; off by default only in DEBUG so the `make run` demo logins work without a phone.
KRATOMWATCH_REQUIRE_2FA = _env_bool("KRATOMWATCH_REQUIRE_2FA", not DEBUG)
OTP_TOTP_ISSUER = "kratomwatch"

# Security: strict by default in production, relaxed only for local DEBUG over plain HTTP.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy and Permissions-Policy are set by kratomwatch.web.security.SecurityHeadersMiddleware.
KRATOMWATCH_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
KRATOMWATCH_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_bool("KRATOMWATCH_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP on the host itself
    SECURE_HSTS_SECONDS = int(os.environ.get("KRATOMWATCH_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_AGE = int(os.environ.get("KRATOMWATCH_SESSION_SECONDS", str(8 * 3600)))

# System settings of kratomwatch. Program settings (the 7-OH cap, grams per teaspoon, the overdue grace and every
# alert threshold) have one home, kratomwatch.accounts.program_settings (environment defaults, per-program
# overrides); the README lists their environment variables.
KRATOMWATCH = {
    # A dose time later than now + this many minutes is rejected as a data-entry error.
    "FUTURE_TOLERANCE_MINUTES": 10,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # An ordinary 403/404 is one WARNING line without a traceback (web/errors.py); 5xx keep theirs.
    "filters": {"no_4xx_traceback": {"()": "kratomwatch.web.errors.NoTracebackFor4xx"}},
    "formatters": {"bare": {"format": "%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["no_4xx_traceback"]},
        # kratomwatch.requestlog writes ready-made JSON lines: no prefix, so each line parses as JSON.
        "requests": {"class": "logging.StreamHandler", "formatter": "bare"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("KRATOMWATCH_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own default sends "django" records to a second console handler in DEBUG: log them once.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # The request log replaces Django's per-request lines (django.request / django.server repeat 4xx/5xx).
        "django.server": {"handlers": [], "level": "ERROR", "propagate": False},
        "kratomwatch.requests": {
            "handlers": ["requests"],
            "level": os.environ.get("KRATOMWATCH_REQUEST_LOG_LEVEL", "INFO"),
            "propagate": False,
        },
    },
}

# Background work and notifications (kratomwatch.jobs, kratomwatch.notifications; docs/operations.md).
# Tasks are rows in this database, run by `kratomwatch worker` (several workers may share it on PostgreSQL).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Daily jobs run at these local times in KRATOMWATCH_SWEEP_ZONE: a program choice, not evidence.
KRATOMWATCH_SWEEP_AT = os.environ.get("KRATOMWATCH_SWEEP_AT", "02:00")
KRATOMWATCH_SWEEP_ZONE = os.environ.get("KRATOMWATCH_SWEEP_ZONE", "UTC")
KRATOMWATCH_REMINDERS_AT = os.environ.get("KRATOMWATCH_REMINDERS_AT", "09:00")
KRATOMWATCH_DIGEST_AT = os.environ.get("KRATOMWATCH_DIGEST_AT", "07:00")
# Links in messages point here (the address clinicians and patients use to reach kratomwatch).
KRATOMWATCH_BASE_URL = os.environ.get("KRATOMWATCH_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
KRATOMWATCH_ALERT_WEBHOOK_URL = os.environ.get("KRATOMWATCH_ALERT_WEBHOOK_URL", "")
KRATOMWATCH_ALERT_WEBHOOK_SECRET = os.environ.get("KRATOMWATCH_ALERT_WEBHOOK_SECRET", "")
KRATOMWATCH_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("KRATOMWATCH_NOTIFY_MAX_ATTEMPTS", "5"))
KRATOMWATCH_NOTIFY_BACKOFF_SECONDS = float(os.environ.get("KRATOMWATCH_NOTIFY_BACKOFF_SECONDS", "30"))
# Email: files under KRATOMWATCH_HOME/mail/ unless a backend or an SMTP host is given.
EMAIL_HOST = os.environ.get("KRATOMWATCH_EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("KRATOMWATCH_EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = BASE_DIR / "mail"
EMAIL_PORT = int(os.environ.get("KRATOMWATCH_EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("KRATOMWATCH_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("KRATOMWATCH_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("KRATOMWATCH_EMAIL_TLS", True)
EMAIL_USE_SSL = _env_bool("KRATOMWATCH_EMAIL_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("KRATOMWATCH_EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("KRATOMWATCH_FROM_EMAIL", "kratomwatch <kratomwatch@localhost>")
