"""Sends composed emails over SMTP: one connection for the batch, retries for what may pass later.

A reply in the 4xx range, a refused or dropped connection and a timeout are worth another try
(with exponential backoff and jitter); a 5xx reply, a failed login or a certificate that does not
verify are not, and are reported at once. Every message gets a :class:`Delivery`: a failure is
logged and returned, never dropped.

No message is sent twice. Retries are per message, so a later failure never resends an earlier
message; a recipient the server accepted is not retried when another one was refused for now;
and when the connection dies after the message body was sent (the server may have kept it), the
message is reported as uncertain rather than sent again.

The password is passed to ``login`` and nowhere else: not to logs, reprs, or errors.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import logging
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import EmailPolicy
from email.utils import getaddresses

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from seller_health.config import ConfigError, SmtpSettings

log = logging.getLogger("seller_health.notify.mailer")

_BACKOFF = wait_exponential_jitter(initial=1, max=60, jitter=1)


@dataclass(frozen=True)
class Delivery:
    """What became of one message."""

    to: tuple[str, ...]
    subject: str
    ok: bool
    attempts: int
    error: str | None = None
    # Not ok, yet some recipients have it (or may: no reply came after the body was sent).
    # Sending it again would give them a second copy.
    reached: bool = False


class _Transient(Exception):
    """A failure that may pass: try again."""


class _Permanent(Exception):
    """A failure that will not pass by trying again."""


class _AllRefused(_Permanent):
    """Every recipient was refused for good (the refusals are reported with the recipients)."""


class _MaybeSent(_Permanent):
    """The connection failed after the body was sent: the server may have the message."""


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(text.split())}".strip()


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _Transient | smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return True  # the server hung up during the handshake
    if isinstance(exc, _Permanent | ssl.SSLError):
        return False  # an untrusted certificate, no common protocol: trying again won't help
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPException):
        return False  # e.g. SMTPNotSupportedError: no STARTTLS, no AUTH
    return isinstance(exc, OSError)  # refused, reset, timed out, unreachable, DNS


def _reason(exc: BaseException, settings: SmtpSettings) -> str:
    """A readable reason for a failure: the server's reply, or what went wrong with the socket."""
    where = f"{settings.host}:{settings.effective_port}"
    if isinstance(exc, _Transient | _Permanent):
        return str(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read that timed out
            return f"{where}: no reply within {settings.timeout:g}s"
        return f"{where} closed the connection"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate of {where} not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where}: connection refused"
    if isinstance(exc, ConnectionResetError):
        return f"{where}: connection reset"
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since 3.10
        return f"{where}: no reply within {settings.timeout:g}s"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {settings.host}: {exc.strerror}"
    if isinstance(exc, OSError):
        return f"{where}: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """The system's trusted CAs, plus ``ca_file`` (a private CA); certificates are verified."""
    context = ssl.create_default_context()
    if settings.ca_file:
        try:
            context.load_verify_locations(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"smtp.ca_file: cannot load {settings.ca_file}: {exc}") from None
    return context


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _Session:
    """One SMTP connection, opened on first use and again after it is lost."""

    __slots__ = ("_client", "_context", "_password", "settings")

    def __init__(
        self, settings: SmtpSettings, password: str | None, context: ssl.SSLContext | None
    ) -> None:
        self.settings = settings
        self._password = password
        self._context = context
        self._client: smtplib.SMTP | None = None

    def __repr__(self) -> str:  # never the password
        return f"<SMTP session {self.settings.host}:{self.settings.effective_port}>"

    def client(self) -> smtplib.SMTP:
        """The open connection; a reused one is checked with NOOP first, so a stale one is
        replaced without spending an attempt."""
        if self._client is not None:
            try:
                if self._client.noop()[0] == 250:
                    return self._client
            except (smtplib.SMTPException, OSError):
                pass
            self.drop()
        self._client = self._open()
        return self._client

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        port, timeout = s.effective_port, s.timeout
        client: smtplib.SMTP
        if s.security == "tls":
            client = smtplib.SMTP_SSL(s.host, port, timeout=timeout, context=self._context)
        else:
            client = smtplib.SMTP(s.host, port, timeout=timeout)
        client.set_debuglevel(0)  # the debug output would show the AUTH exchange
        try:
            client.ehlo()
            if s.security == "starttls":
                if not client.has_extn("starttls"):
                    raise _Permanent(
                        f"{s.host}:{port} does not offer STARTTLS; not sending in clear text"
                    )
                client.starttls(context=self._context)
                client.ehlo()
            if s.username:
                if s.security == "none" and not _is_loopback(s.host):
                    log.warning(
                        "logging in to %s without TLS: the password crosses in clear", s.host
                    )
                client.login(s.username, self._password or "")
        except BaseException:
            _close_quietly(client)
            raise
        return client

    def drop(self) -> None:
        """Forget the connection without a goodbye (it failed, or may be mid-transaction)."""
        if self._client is not None:
            _close_quietly(self._client)
            self._client = None

    def reset(self) -> None:
        """After a refused transaction: clear the server's state, or drop the connection."""
        if self._client is None:
            return
        try:
            if self._client.rset()[0] == 250:
                return
        except (smtplib.SMTPException, OSError):
            pass
        self.drop()

    def quit(self) -> None:
        if self._client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._client.quit()
            self.drop()


def _close_quietly(client: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        client.close()


def _addr_specs(message: EmailMessage, *headers: str) -> list[str]:
    """The bare addresses in these headers, in order, each once."""
    found: list[str] = []
    for name in headers:
        for value in message.get_all(name, []):
            parsed = getattr(value, "addresses", None)  # a header object of the modern policies
            if parsed is not None:
                found += [a.addr_spec for a in parsed if a.username]
            else:
                found += [addr for _, addr in getaddresses([str(value)]) if addr]
    return list(dict.fromkeys(found))


def _payload(message: EmailMessage, utf8: bool) -> bytes:
    """The message as sent: CRLF line ends, without Bcc headers."""
    if "Bcc" in message or "Resent-Bcc" in message:
        message = copy.deepcopy(message)
        del message["Bcc"]
        del message["Resent-Bcc"]
    base = message.policy if isinstance(message.policy, EmailPolicy) else SMTP_POLICY
    return message.as_bytes(policy=base.clone(linesep="\r\n", utf8=utf8))


def _dot_stuff(payload: bytes) -> bytes:
    """RFC 5321 4.5.2: a line starting with a dot gets another; then the end-of-data line."""
    body = re.sub(rb"(?m)^\.", b"..", payload)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


class _Transfer:
    """One message's progress across attempts: who still waits for it, who has it, who refused."""

    def __init__(self, sender: str, recipients: list[str], payload: bytes, options: list[str]):
        self.sender = sender
        self.pending = recipients
        self.options = options
        self.payload = payload
        self.delivered: list[str] = []
        self.refused: dict[str, str] = {}  # permanently, with the server's reply

    def attempt(self, session: _Session) -> None:
        """One try at the pending recipients; raises what stops it (classified for retrying)."""
        client = session.client()
        for option in self.options:
            if option == "SMTPUTF8" and not client.has_extn("smtputf8"):
                raise _Permanent("an address is not ASCII and the server lacks SMTPUTF8")
            if option == "BODY=8BITMIME" and not client.has_extn("8bitmime"):
                raise _Permanent("the message is 8-bit and the server lacks 8BITMIME")
        code, text = client.mail(self.sender, self.options)
        if code != 250:
            self._refused_transaction(session, smtplib.SMTPSenderRefused(code, text, self.sender))
        accepted, later = [], {}
        for address in self.pending:
            code, text = client.rcpt(address)
            if code in (250, 251):
                accepted.append(address)
            elif code == 421:
                raise smtplib.SMTPResponseException(code, text)
            elif 400 <= code < 500:
                later[address] = _reply(code, text)
            else:
                self.refused[address] = _reply(code, text)
        if not accepted:
            self.pending = list(later)
            session.reset()
            if later:
                raise _Transient(_refusals(later))
            raise _AllRefused()
        client.putcmd("data")
        code, text = client.getreply()
        if code != 354:
            self.pending = accepted + list(later)
            self._refused_transaction(session, smtplib.SMTPDataError(code, text))
        client.send(_dot_stuff(self.payload))
        try:
            code, text = client.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            session.drop()
            raise _MaybeSent(
                f"no reply after the message was sent ({_reason(exc, session.settings)}); "
                "it may have been delivered, so it is not sent again"
            ) from None
        if code != 250:
            self.pending = accepted + list(later)
            self._refused_transaction(session, smtplib.SMTPDataError(code, text))
        self.delivered += accepted
        self.pending = list(later)
        if later:
            raise _Transient(_refusals(later))

    @staticmethod
    def _refused_transaction(session: _Session, exc: smtplib.SMTPResponseException) -> None:
        if exc.smtp_code == 421:
            session.drop()  # the server is closing the connection
        else:
            session.reset()
        raise exc


def _refusals(refused: dict[str, str]) -> str:
    return "refused " + "; ".join(f"{address} ({reply})" for address, reply in refused.items())


def send(
    settings: SmtpSettings,
    messages: Sequence[EmailMessage],
    *,
    password: str | None = None,
    wait: Callable[[float], None] | None = None,
) -> list[Delivery]:
    """Send ``messages`` in order over one connection; one :class:`Delivery` each, in order.

    ``password`` overrides ``settings.password()``; ``wait`` replaces ``time.sleep`` between
    attempts (tests). Raises :class:`ConfigError` before sending anything when the password
    variable is unset or ``ca_file`` unreadable; every other failure is in the deliveries.
    """
    if settings.username and password is None:
        password = settings.password()
    context = _tls_context(settings) if settings.security != "none" else None
    session = _Session(settings, password, context)
    secret = password or None
    deliveries = []
    try:
        for message in messages:
            delivery = _send_one(session, settings, message, wait or time.sleep)
            if secret and delivery.error and secret in delivery.error:  # belt and braces
                # replace(): every other field, ``reached`` too, stays what the send found
                delivery = replace(delivery, error=delivery.error.replace(secret, "***"))
            deliveries.append(delivery)
    finally:
        session.quit()
    return deliveries


def _send_one(
    session: _Session,
    settings: SmtpSettings,
    message: EmailMessage,
    sleep: Callable[[float], None],
) -> Delivery:
    subject = str(message.get("Subject", ""))
    recipients = _addr_specs(message, "To", "Cc", "Bcc")
    # Bounces go to the configured sender, whatever the message's From says.
    envelope_sender = (_addr_specs_of(settings.sender) or _addr_specs(message, "From") or [""])[0]
    to = tuple(recipients)
    if not recipients:
        return _failed(to, subject, 0, "the message has no recipients")

    utf8 = any(not a.isascii() for a in [envelope_sender, *recipients])
    try:
        payload = _payload(message, utf8)
    except Exception as exc:  # a header the policy cannot serialise
        return _failed(to, subject, 0, f"cannot serialise the message: {exc}")
    options = (["SMTPUTF8"] if utf8 else []) + (["BODY=8BITMIME"] if not payload.isascii() else [])
    transfer = _Transfer(envelope_sender, recipients, payload, options)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info(
            "sending %r to %s: attempt %d of %d failed (%s); trying again in %.1fs",
            subject,
            ", ".join(transfer.pending),
            state.attempt_number,
            settings.attempts,
            _reason(exc, settings) if exc else "?",
            state.upcoming_sleep,
        )

    def on_failure(exc: BaseException) -> None:
        if isinstance(exc, smtplib.SMTPResponseException):
            if exc.smtp_code == 421:
                session.drop()  # the server is closing the connection
        elif not isinstance(exc, _Permanent | _Transient):
            session.drop()  # the socket is in an unknown state

    attempts = 0
    retrying = Retrying(
        stop=stop_after_attempt(settings.attempts),
        wait=_BACKOFF,
        retry=retry_if_exception(_is_transient),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    failure: BaseException | None = None
    try:
        for attempt in retrying:
            with attempt:
                attempts = attempt.retry_state.attempt_number
                try:
                    transfer.attempt(session)
                except BaseException as exc:
                    on_failure(exc)
                    raise
    except Exception as exc:
        failure = exc
    if failure is None and not transfer.refused:
        log.info("sent %r to %s (attempt %d)", subject, ", ".join(transfer.delivered), attempts)
        return Delivery(to=to, subject=subject, ok=True, attempts=attempts)
    reasons = []
    if transfer.delivered:
        reasons.append(f"delivered to {', '.join(transfer.delivered)} only")
    if transfer.refused:
        reasons.append(_refusals(transfer.refused))
    if failure is not None and not isinstance(failure, _AllRefused):
        reasons.append(_reason(failure, settings))
    reached = bool(transfer.delivered) or isinstance(failure, _MaybeSent)
    return _failed(to, subject, attempts, "; ".join(reasons), reached=reached)


def _addr_specs_of(value: str) -> list[str]:
    return [addr for _, addr in getaddresses([value]) if addr]


def _failed(
    to: tuple[str, ...], subject: str, attempts: int, error: str, *, reached: bool = False
) -> Delivery:
    log.warning("not sent %r to %s: %s", subject, ", ".join(to), error)
    return Delivery(
        to=to, subject=subject, ok=False, attempts=attempts, error=error, reached=reached
    )
