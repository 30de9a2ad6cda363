"""Fixtures of the notification tests: a care team with addresses, and a real HTTP receiver for the webhook."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def addressed(world: Any, system: Any) -> Any:
    """The world with email addresses for alice (clinician), the program admin and carol (the patient)."""
    from kratomwatch.notifications import actions

    actions.set_contact_email(actor=system, user=world.alice, email="alice@clinic.example")
    actions.set_contact_email(actor=system, user=world.admin, email="pa@clinic.example")
    actions.set_contact_email(actor=system, user=world.bob, email="bob@other.example")
    actions.set_contact_email(actor=system, user=world.carol, email="carol@home.example")
    return world


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.url = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 that records each POST and answers ``receiver.status``."""
    box = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            box.requests.append({"headers": dict(self.headers), "body": body})
            self.send_response(box.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.url = f"http://127.0.0.1:{server.server_address[1]}/page"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()
