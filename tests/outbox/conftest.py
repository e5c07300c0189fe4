"""Email fixtures: the store's database fixtures plus a real SMTP server on loopback.

The ``svc``/``clock``/``database_url`` fixtures (SQLite always, PostgreSQL when
``PAYROUTE_TEST_DATABASE_URL`` is set) come from tests/db_fixtures.py, so
every suite runs against identical databases.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    """A loopback port nobody listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """One message as the server got it: the SMTP envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


@dataclass
class Collector:
    """aiosmtpd handler that keeps every message (thread-safe); ``delay`` slows DATA down."""

    messages: list[Received] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            time.sleep(self.delay)
        raw = envelope.original_content or envelope.content
        msg = message_from_bytes(raw, policy=policy.default)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg, raw))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    handler: Collector
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    def start(self, **kwargs: Any) -> "SmtpServer":
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, collecting messages."""
    server = SmtpServer(free_port(), Collector()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def idle_port_server() -> Iterator[SmtpServer]:
    """A server object on a free port that is NOT started: the test starts it (SMTP down, then up)."""
    server = SmtpServer(free_port(), Collector())
    try:
        yield server
    finally:
        server.stop()
