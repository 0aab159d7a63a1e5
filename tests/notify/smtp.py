"""A real SMTP server on loopback (aiosmtpd) that records what it accepts, for tests that send."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as Server
from aiosmtpd.smtp import Envelope, Session


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    peer: Any  # the client's (host, port): one per connection
    tls: bool
    authenticated: bool

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


class Recorder:
    """An SMTP handler that keeps every accepted message; subclasses refuse some."""

    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server: Server, session: Session, envelope: Envelope) -> str:
        self.received.append(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                content=envelope.original_content or b"",
                peer=session.peer,
                tls=session.ssl is not None,
                authenticated=bool(session.authenticated),
            )
        )
        return "250 2.0.0 OK queued"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve() -> Iterator[Callable[..., Controller]]:
    """Start an aiosmtpd server on loopback with a handler and SMTP options; stopped after."""
    started: list[Controller] = []

    def start(handler: Recorder, **options: Any) -> Controller:
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()
