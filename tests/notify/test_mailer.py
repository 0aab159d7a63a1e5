"""Sending against a real SMTP server on loopback (aiosmtpd), checking what it received.

Retries wait through an injected no-op, so backoff costs no time; each test asserts on the
envelopes the server recorded, or on the returned deliveries.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as Server
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from seller_health.config import SmtpSettings
from seller_health.notify.mailer import Delivery, send
from seller_health.reports.email import compose
from tests.notify.smtp import Recorder, free_port

SENDER = "Seller Health <reports@seller-health.example>"
USERNAME = "reports"
PASSWORD = "s3cret-Pa55word!"


class RefuseRecipients(Recorder):
    """Refuses the ``refused`` addresses with ``reply`` ({address} filled in)."""

    def __init__(self, *refused: str, reply: str = "550 5.1.1 mailbox unavailable") -> None:
        super().__init__()
        self.refused = set(refused)
        self.reply = reply

    async def handle_RCPT(
        self,
        server: Server,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused:
            return self.reply.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"


class BusyAtFirst(Recorder):
    """Answers 451 to the first ``failures`` messages it is given, then accepts."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.data_commands = 0

    async def handle_DATA(self, server: Server, session: Session, envelope: Envelope) -> str:
        self.data_commands += 1
        if self.data_commands <= self.failures:
            return "451 4.3.0 temporary failure, try again later"
        return await super().handle_DATA(server, session, envelope)


class GreylistRecipient(Recorder):
    """Answers 450 to ``address`` once, accepting the others."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address
        self.greylisted = False

    async def handle_RCPT(
        self,
        server: Server,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address == self.address and not self.greylisted:
            self.greylisted = True
            return "450 4.2.0 greylisted, come back later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"


class HangsUpOnFirstMail(Recorder):
    """Closes the first connection at the second MAIL (a server limiting messages per session)."""

    def __init__(self) -> None:
        super().__init__()
        self.mails = 0

    async def handle_MAIL(
        self,
        server: Server,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        self.mails += 1
        if self.mails == 2:
            server.transport.close()
            return "421 4.7.0 too many messages, closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"


class DropsIdleConnections(Recorder):
    """Closes the connection when the client checks it with NOOP (an idle timeout)."""

    async def handle_NOOP(
        self, server: Server, session: Session, envelope: Envelope, arg: str
    ) -> str:
        server.transport.close()
        return "421 4.4.2 idle timeout"


class SlowToAnswer(Recorder):
    """Keeps the message but answers only after the client has given up waiting."""

    async def handle_DATA(self, server: Server, session: Session, envelope: Envelope) -> str:
        status = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(0.6)
        return status


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def waits() -> list[float]:
    """The backoff delays asked for; nothing actually sleeps."""
    return []


def _settings(port: int, **overrides: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": SENDER,
        "timeout": 5,
        "attempts": 4,
    }
    values.update(overrides)
    return SmtpSettings(**values)


def _message(*to: str, subject: str = "Informe semanal — Tienda Ñandú") -> EmailMessage:
    return compose(
        sender=SENDER,
        to=to or ("owner@shop.example",),
        subject=subject,
        html="<html><head><style>p { color: #b42318; }</style></head>"
        "<body><p>Atenção: 2 cuentas</p></body></html>",
        text="Atenção: 2 cuentas\n",
    )


def _send(
    settings: SmtpSettings, messages: list[EmailMessage], waits: list[float], **kw: Any
) -> list[Delivery]:
    return send(settings, messages, wait=waits.append, **kw)


def test_plain_delivery(serve: Callable[..., Controller], waits: list[float]) -> None:
    handler = Recorder()
    server = serve(handler)

    [delivery] = _send(_settings(server.port), [_message("owner@shop.example")], waits)

    assert delivery == Delivery(
        to=("owner@shop.example",),
        subject="Informe semanal — Tienda Ñandú",
        ok=True,
        attempts=1,
        error=None,
    )
    [received] = handler.received
    assert received.mail_from == "reports@seller-health.example"
    assert received.rcpt_tos == ("owner@shop.example",)
    message = received.parsed()
    assert message["Subject"] == "Informe semanal — Tienda Ñandú"
    assert message["Auto-Submitted"] == "auto-generated"
    plain, html = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content().strip() == "Atenção: 2 cuentas"
    assert html.get_content_type() == "text/html"
    assert '<p style="color: #b42318;">Atenção: 2 cuentas</p>' in html.get_content()
    assert waits == []


def test_messages_share_one_connection(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    handler = Recorder()
    server = serve(handler)
    messages = [_message(f"shop{i}@shop.example", subject=f"Report {i}") for i in range(3)]

    deliveries = _send(_settings(server.port), messages, waits)

    assert [(d.subject, d.ok, d.attempts) for d in deliveries] == [
        ("Report 0", True, 1),
        ("Report 1", True, 1),
        ("Report 2", True, 1),
    ]
    assert [r.parsed()["Subject"] for r in handler.received] == ["Report 0", "Report 1", "Report 2"]
    assert len({r.peer for r in handler.received}) == 1


def test_bcc_is_delivered_but_not_shown(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    handler = Recorder()
    server = serve(handler)
    message = _message("owner@shop.example")
    message["Bcc"] = "auditor@agency.example"

    [delivery] = _send(_settings(server.port), [message], waits)

    assert delivery.ok
    [received] = handler.received
    assert received.rcpt_tos == ("owner@shop.example", "auditor@agency.example")
    assert b"auditor@agency.example" not in received.content
    assert message["Bcc"] == "auditor@agency.example"  # the caller's message is left alone


def test_starttls_with_a_private_ca(
    serve: Callable[..., Controller],
    server_tls: ssl.SSLContext,
    ca_file: str,
    waits: list[float],
) -> None:
    handler = Recorder()
    server = serve(handler, tls_context=server_tls, require_starttls=True)

    [delivery] = _send(
        _settings(server.port, security="starttls", ca_file=ca_file), [_message()], waits
    )

    assert delivery.ok, delivery.error
    [received] = handler.received
    assert received.tls
    assert received.parsed()["Subject"] == "Informe semanal — Tienda Ñandú"


def test_starttls_refuses_an_untrusted_certificate(
    serve: Callable[..., Controller], server_tls: ssl.SSLContext, waits: list[float]
) -> None:
    handler = Recorder()
    server = serve(handler, tls_context=server_tls, require_starttls=True)

    [delivery] = _send(_settings(server.port, security="starttls"), [_message()], waits)

    assert not delivery.ok
    assert delivery.attempts == 1  # a certificate does not become trusted by asking again
    assert "certificate" in (delivery.error or "")
    assert handler.received == []


def test_starttls_is_required_when_configured(
    serve: Callable[..., Controller], ca_file: str, waits: list[float]
) -> None:
    handler = Recorder()
    server = serve(handler)  # no tls_context: the server does not offer STARTTLS

    [delivery] = _send(
        _settings(server.port, security="starttls", ca_file=ca_file), [_message()], waits
    )

    assert not delivery.ok
    assert delivery.attempts == 1
    assert "STARTTLS" in (delivery.error or "")
    assert handler.received == []


def test_implicit_tls(
    serve: Callable[..., Controller],
    server_tls: ssl.SSLContext,
    ca_file: str,
    waits: list[float],
) -> None:
    handler = Recorder()
    server = serve(handler, ssl_context=server_tls)

    [delivery] = _send(_settings(server.port, security="tls", ca_file=ca_file), [_message()], waits)

    assert delivery.ok, delivery.error
    [received] = handler.received
    assert received.parsed()["Subject"] == "Informe semanal — Tienda Ñandú"


def _auth_server(
    serve: Callable[..., Controller], server_tls: ssl.SSLContext, mechanism: str
) -> tuple[Recorder, Controller, list[str]]:
    handler = Recorder()
    tried: list[str] = []

    def authenticator(
        server: Server, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        tried.append(mechanism)
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == USERNAME.encode()
            and auth_data.password == PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)  # unhandled failure: 535

    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
    server = serve(
        handler,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
        auth_exclude_mechanism=[other],
    )
    return handler, server, tried


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_login(
    serve: Callable[..., Controller],
    server_tls: ssl.SSLContext,
    ca_file: str,
    waits: list[float],
    mechanism: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, server, tried = _auth_server(serve, server_tls, mechanism)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    settings = _settings(
        server.port,
        security="starttls",
        ca_file=ca_file,
        username=USERNAME,
        password_env="TEST_SMTP_PASSWORD",
    )

    [delivery] = _send(settings, [_message()], waits)  # the password from the environment

    assert delivery.ok, delivery.error
    assert tried == [mechanism]
    [received] = handler.received
    assert received.authenticated and received.tls


def test_wrong_password_is_not_retried_nor_shown(
    serve: Callable[..., Controller],
    server_tls: ssl.SSLContext,
    ca_file: str,
    waits: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, server, tried = _auth_server(serve, server_tls, "LOGIN")
    settings = _settings(
        server.port,
        security="starttls",
        ca_file=ca_file,
        username=USERNAME,
        password_env="TEST_SMTP_PASSWORD_UNSET",
    )
    wrong = "wrong-Pa55word-42"
    caplog.set_level(logging.DEBUG)

    deliveries = _send(settings, [_message()], waits, password=wrong)

    [delivery] = deliveries
    assert not delivery.ok
    assert delivery.attempts == 1
    assert waits == []
    assert tried == ["LOGIN"]
    assert "535" in (delivery.error or "")
    assert handler.received == []
    for shown in (repr(deliveries), str(delivery.error), caplog.text):
        assert wrong not in shown
    warnings = [r for r in caplog.records if r.name == "seller_health.notify.mailer"]
    assert any(
        r.levelno == logging.WARNING and "owner@shop.example" in r.getMessage() for r in warnings
    )


def test_temporary_failures_are_retried_and_delivered_once(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    handler = BusyAtFirst(failures=2)
    server = serve(handler)

    [delivery] = _send(_settings(server.port, attempts=4), [_message()], waits)

    assert delivery.ok, delivery.error
    assert delivery.attempts == 3
    assert handler.data_commands == 3
    assert len(handler.received) == 1
    assert len(waits) == 2 and all(w > 0 for w in waits)


def test_temporary_failures_give_up_after_the_configured_attempts(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    handler = BusyAtFirst(failures=99)
    server = serve(handler)

    [delivery] = _send(_settings(server.port, attempts=3), [_message()], waits)

    assert not delivery.ok
    assert delivery.attempts == 3 == handler.data_commands
    assert (delivery.error or "").startswith("451 4.3.0")
    assert handler.received == []


def test_refused_recipient_is_reported_at_once(
    serve: Callable[..., Controller], waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    handler = RefuseRecipients("gone@shop.example")
    server = serve(handler)

    [delivery] = _send(_settings(server.port), [_message("gone@shop.example")], waits)

    assert not delivery.ok
    assert delivery.attempts == 1
    assert waits == []
    assert not delivery.reached
    assert "gone@shop.example (550 5.1.1 mailbox unavailable)" in (delivery.error or "")
    assert handler.received == []
    assert "gone@shop.example" in caplog.text and "550" in caplog.text


def test_partial_refusal_names_the_refused(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    handler = RefuseRecipients("gone@shop.example")
    server = serve(handler)
    message = _message("owner@shop.example", "gone@shop.example")

    [delivery] = _send(_settings(server.port), [message], waits)

    assert not delivery.ok
    assert delivery.attempts == 1
    assert delivery.to == ("owner@shop.example", "gone@shop.example")
    assert "gone@shop.example (550" in (delivery.error or "")
    assert delivery.reached  # owner@ has it
    assert "delivered to owner@shop.example only" in (delivery.error or "")
    [received] = handler.received
    assert received.rcpt_tos == ("owner@shop.example",)


def test_a_masked_error_keeps_what_reached_its_recipients(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    secret = "hunter2-Pa55word"
    # a server echoing what it was given, the secret included
    reply = "550 5.1.1 {address} unknown (session key " + secret + ")"
    handler = RefuseRecipients("gone@shop.example", reply=reply)
    server = serve(handler)
    message = _message("owner@shop.example", "gone@shop.example")

    [delivery] = _send(_settings(server.port), [message], waits, password=secret)

    assert secret not in (delivery.error or "") and "session key ***" in (delivery.error or "")
    assert delivery.reached and not delivery.ok  # owner@ has it: never to be sent again
    assert [r.rcpt_tos for r in handler.received] == [("owner@shop.example",)]


def test_a_recipient_refused_for_now_is_retried_alone(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    handler = GreylistRecipient("agency@agency.example")
    server = serve(handler)
    message = _message("owner@shop.example", "agency@agency.example")

    [delivery] = _send(_settings(server.port), [message], waits)

    assert delivery.ok, delivery.error
    assert delivery.attempts == 2
    assert [r.rcpt_tos for r in handler.received] == [
        ("owner@shop.example",),
        ("agency@agency.example",),
    ]


def test_server_not_running(waits: list[float]) -> None:
    port = free_port()  # nothing listens there

    [delivery] = _send(_settings(port, attempts=3), [_message()], waits)

    assert not delivery.ok
    assert delivery.attempts == 3
    assert len(waits) == 2
    assert "connection refused" in (delivery.error or "")


def test_a_server_that_never_answers_is_retried(waits: list[float]) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]

        [delivery] = _send(_settings(port, attempts=2, timeout=0.2), [_message()], waits)

    assert not delivery.ok
    assert delivery.attempts == 2
    assert len(waits) == 1
    assert "no reply within 0.2s" in (delivery.error or "")


def test_permanent_failure_does_not_stop_the_next_message(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    handler = RefuseRecipients("gone@shop.example")
    server = serve(handler)
    messages = [
        _message("gone@shop.example", subject="First"),
        _message("owner@shop.example", subject="Second"),
    ]

    first, second = _send(_settings(server.port), messages, waits)

    assert (first.subject, first.ok, first.attempts) == ("First", False, 1)
    assert "550" in (first.error or "")
    assert (second.subject, second.ok, second.attempts, second.error) == ("Second", True, 1, None)
    [received] = handler.received
    assert received.parsed()["Subject"] == "Second"
    assert received.rcpt_tos == ("owner@shop.example",)


def test_reconnects_when_the_server_hangs_up(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    handler = HangsUpOnFirstMail()
    server = serve(handler)
    messages = [_message(subject="First"), _message(subject="Second")]

    first, second = _send(_settings(server.port), messages, waits)

    assert (first.ok, first.attempts) == (True, 1)
    assert (second.ok, second.attempts) == (True, 2)
    assert [r.parsed()["Subject"] for r in handler.received] == ["First", "Second"]
    assert len({r.peer for r in handler.received}) == 2


def test_a_stale_connection_is_replaced_without_spending_an_attempt(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    handler = DropsIdleConnections()
    server = serve(handler)
    messages = [_message(subject="First"), _message(subject="Second")]

    deliveries = _send(_settings(server.port), messages, waits)

    assert [(d.ok, d.attempts) for d in deliveries] == [(True, 1), (True, 1)]
    assert waits == []
    assert len({r.peer for r in handler.received}) == 2


def test_no_reply_after_the_body_is_not_sent_twice(
    serve: Callable[..., Controller], waits: list[float]
) -> None:
    handler = SlowToAnswer()
    server = serve(handler)

    [delivery] = _send(_settings(server.port, timeout=0.3), [_message()], waits)

    assert not delivery.ok
    assert delivery.attempts == 1
    assert "no reply within 0.3s" in (delivery.error or "")
    assert "may have been delivered" in (delivery.error or "")
    assert len(handler.received) == 1  # the server kept it: a retry would have doubled it
    assert delivery.reached  # so an alert is not sent again either
