"""Response headers (CSP, Permissions-Policy), no inline styles/scripts in our pages, and `check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def test_csp_and_permissions_policy_on_pages_and_api(world: Any) -> None:
    client = Client()
    for response in (client.get("/login/"), client.get("/api/v1/health")):
        csp = response["Content-Security-Policy"]
        for part in ("default-src 'self'", "style-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'"):
            assert part in csp
        assert "unsafe-inline" not in csp
        assert "camera=()" in response["Permissions-Policy"]
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_our_pages_have_no_inline_script_or_style(world: Any) -> None:
    client = Client()
    client.force_login(world.staff)
    for path in ("/login/", "/", "/account/tokens/", "/account/2fa/setup/", "/audit/"):
        body = client.get(path).content.decode()
        assert "<style" not in body and "<script" not in body and "style=" not in body, path
    assert "/static/web/site.css" in client.get("/login/").content.decode()


def test_check_deploy_passes_without_warnings(tmp_path: Path) -> None:
    # A clean production-like environment: no test-session settings (the browser tests set
    # DJANGO_ALLOW_ASYNC_UNSAFE for Playwright's event loop, which a deployment must never have).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KRATOMWATCH_") and k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        KRATOMWATCH_HOME=str(tmp_path),
        KRATOMWATCH_DEBUG="false",
        KRATOMWATCH_SECRET_KEY=secrets.token_urlsafe(60),
        KRATOMWATCH_ALLOWED_HOSTS="kratomwatch.example",
    )
    result = subprocess.run(
        [sys.executable, "-m", "kratomwatch.manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
