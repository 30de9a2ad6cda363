"""Login throttling backend (django-axes) that tolerates calls without a request.

Every web login passes the request, so the lockout is enforced there. Calls without a request (the test
client's ``login()``, management commands) have no client address to throttle on; the stock axes backend
would refuse them silently, so this one lets them through to ``ModelBackend`` unchanged.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class ThrottledBackend(AxesStandaloneBackend):  # type: ignore[misc]
    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
