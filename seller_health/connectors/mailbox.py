"""Buyer messages from a mailbox: Amazon's relay emails turned into ``messages.csv`` records.

Amazon has no API that reads buyer messages (``shared/research/amazon.md`` §5: staff and
Solutions Architects say so in amzn/selling-partner-api-models#4555, #4124, #5077 and
selling-partner-api-docs#3559). What reaches a third party is email: Seller Central emails each
buyer message to the "Buyer Messages" notification addresses, from the buyer's anonymised relay
address (``...@marketplace.amazon.com``, ``.co.uk``, ``.fr``...), and a seller's reply sent by
email to that relay address counts as a reply. So a seller points "Buyer Messages" at a mailbox
(and Bcc's or files copies of their own replies there); this module reads that mailbox and makes
one canonical record per email.

The API, small on purpose:

- :func:`parse_message` turns one raw RFC 5322 message into a :class:`MailRecord`, returns
  ``None`` for mail that is not an Amazon buyer conversation, and raises :class:`MailParseError`
  for a buyer message that cannot be recorded faithfully (no Date, a Date without offset...).
  *Quarantine design*: the exception, not a third return type, because ``None`` already means
  "not ours" and a malformed buyer message must not be mistaken for that; the caller catches it
  and quarantines the source id. :func:`read_mailbox` does exactly that for a whole source.
- Sources yield ``(source_id, raw)``: :class:`ImapSource` (TLS or STARTTLS, read-only,
  incremental by UID within a UIDVALIDITY), :class:`MaildirSource` and :class:`MboxSource`.

Privacy: buyer messages are untrusted and personal. Records hold no subject, body or relay
address: ids are SHA-256 digests. Errors and log lines name the source and the UID or position
only, never a header value, body text, address or password.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import imaplib
import logging
import mailbox
import re
import ssl
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.header import Header, decode_header
from email.message import Message
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

from seller_health.connectors.base import Malformed
from seller_health.timeutil import format_instant

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# What an Amazon buyer conversation looks like

#: Amazon's relay domains. The research notes (§5, citing the ReplyManager setup post and the
#: helpdesks that route on the From domain) name ``marketplace.amazon.com``, ``.co.uk`` and
#: ``.fr`` as examples of one pattern, ``marketplace.<the marketplace's Amazon domain>``; the
#: other entries apply that pattern to every marketplace of the endpoint table in §2. Matching is
#: on the whole domain, so ``marketplace.amazon.com.example.net`` is not a relay.
RELAY_DOMAINS = frozenset(
    "marketplace." + domain
    for domain in (
        # NA: US, CA, MX, BR
        "amazon.com",
        "amazon.ca",
        "amazon.com.mx",
        "amazon.com.br",
        # EU: IE, ES, UK, FR, BE, NL, DE, IT, SE, ZA, PL, SA, EG, TR, AE, IN
        "amazon.ie",
        "amazon.es",
        "amazon.co.uk",
        "amazon.fr",
        "amazon.com.be",
        "amazon.nl",
        "amazon.de",
        "amazon.it",
        "amazon.se",
        "amazon.co.za",
        "amazon.pl",
        "amazon.sa",
        "amazon.eg",
        "amazon.com.tr",
        "amazon.ae",
        "amazon.in",
        # FE: SG, AU, JP
        "amazon.sg",
        "amazon.com.au",
        "amazon.co.jp",
    )
)

#: Role mailboxes on a relay domain are Amazon's own senders, never a buyer (our caution: the
#: notes document no such sender, but a bounce from one must not open a buyer thread).
NON_BUYER_LOCAL_PARTS = frozenset(
    {"donotreply", "do-not-reply", "no-reply", "noreply", "mailer-daemon", "postmaster"}
)

#: Amazon order ids, ``3-7-7`` digits (e.g. ``302-2806765-6298108``).
ORDER_ID = re.compile(r"(?<![\d-])(\d{3}-\d{7}-\d{7})(?![\d-])")

#: Auto-responder markers. Amazon does not count an auto-response as a reply (notes §6, the
#: Teikametrics post), so such mail must be ``automated``. The notes name no header; these are
#: RFC 3834 (``Auto-Submitted``) and the de-facto headers of vacation programs and MUAs.
AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponse", "X-Auto-Reply")
#: Subject prefixes Outlook, Gmail and vacation programs put on auto-replies, in the languages of
#: the marketplaces (an Outlook in German writes "Automatische Antwort:").
AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|auto[- ]?response|out of (the )?office"
    r"|r[ée]ponse automatique|absence|automatische antwort|abwesenheitsnotiz"
    r"|risposta automatica|respuesta autom[áa]tica|resposta autom[áa]tica"
    r"|automatisch antwoord|自動応答|自動返信)\b",
    re.IGNORECASE,
)

#: Bytes of decoded text searched for an order id: the id sits near the top of Amazon's email
#: and a bound keeps a huge body from costing time.
BODY_SCAN_LIMIT = 256 * 1024

Direction = Literal["in", "out"]


# --------------------------------------------------------------------------------------------
# Records and errors


@dataclass(frozen=True, slots=True)
class MailRecord:
    """One buyer message in the ``messages.csv`` shape, plus where it was read (``source_id``)."""

    source_id: str
    message_id: str
    thread_id: str
    sent_at: datetime
    direction: Direction
    order_id: str | None = None
    #: ``True`` for every inbound message: the notes (§5) say Amazon's "no response needed" mark
    #: is invisible to email, so nothing in a mail may turn it off. ``None`` on outbound ones.
    needs_reply: bool | None = None
    channel: str = "marketplace"
    resolved_at: datetime | None = None
    #: On outbound messages: the seller-side sender address, for per-agent metrics.
    agent: str | None = None
    automated: bool = False

    def as_row(self, account_id: str) -> dict[str, str]:
        """The record as a ``messages.csv`` row (empty cell = unknown), for the importer."""

        def cell(value: object) -> str:
            if value is None:
                return ""
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, datetime):
                return format_instant(value)
            return str(value)

        return {
            "account_id": account_id,
            "message_id": self.message_id,
            "thread_id": self.thread_id,
            "sent_at": cell(self.sent_at),
            "direction": self.direction,
            "order_id": cell(self.order_id),
            "needs_reply": cell(self.needs_reply),
            "channel": self.channel,
            "resolved_at": cell(self.resolved_at),
            "agent": cell(self.agent),
            "automated": cell(self.automated),
        }


class MailParseError(Malformed):
    """An Amazon buyer message that cannot be recorded: quarantine it by ``source_id``.

    The text names the source and a fixed reason, never a header value or the body.
    """

    def __init__(self, source_id: str, reason: str) -> None:
        self.source_id = source_id
        self.reason = reason
        super().__init__(f"mailbox message {source_id or '(unnamed)'}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.source_id, self.reason))


class MailboxError(Exception):
    """The mailbox itself cannot be read (connection, TLS, login, folder, path)."""


# --------------------------------------------------------------------------------------------
# Parsing

_PARSER = BytesParser(policy=policy.compat32)  # the lenient parser: never raises on bad headers
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


def parse_message(
    raw: bytes, *, source_id: str = "", threads: Mapping[str, str] | None = None
) -> MailRecord | None:
    """Read one raw message: a record, ``None`` if it is not an Amazon buyer conversation.

    ``threads`` maps already-known ``message_id`` values to their ``thread_id`` (the store's
    messages table is one such map); a reply whose subject and body lost the order id then joins
    its parent's thread through ``In-Reply-To``/``References``. Raises :class:`MailParseError`
    when the message is a buyer conversation but cannot be recorded faithfully.
    """
    if not isinstance(raw, bytes | bytearray):
        raise TypeError("parse_message takes the raw message as bytes")
    try:
        return _parse(bytes(raw), source_id, threads or {})
    except MailParseError:
        raise
    except Exception as exc:  # the email package on hostile input: name the kind only
        raise MailParseError(source_id, f"unreadable message ({type(exc).__name__})") from None


def _parse(raw: bytes, source_id: str, threads: Mapping[str, str]) -> MailRecord | None:
    msg = _PARSER.parsebytes(raw)
    senders = _addresses(msg, "From")
    recipients = _addresses(msg, "To", "Cc")
    sender = senders[0] if senders else None
    if sender is not None and _is_relay(sender):
        direction: Direction = "in"
        relay = sender
    else:
        relay = next((addr for addr in recipients if _is_relay(addr)), None)
        if relay is None or sender is None:
            return None  # not a conversation with an Amazon buyer
        direction = "out"

    sent_at = _sent_at(msg, source_id)
    subject = _header_text(msg, "Subject")
    order_id = _order_id(subject) or _order_id(_body_text(msg))
    message_id = _message_id(msg, raw)
    thread_id = _thread_id(msg, relay, order_id, threads)
    automated = _is_automated(msg, subject)
    return MailRecord(
        source_id=source_id,
        message_id=message_id,
        thread_id=thread_id,
        sent_at=sent_at,
        direction=direction,
        order_id=order_id,
        needs_reply=True if direction == "in" else None,
        agent=sender if direction == "out" else None,
        automated=automated,
    )


def _addresses(msg: Message, *names: str) -> list[str]:
    """Bare addresses, lower-cased, from the named headers (display names dropped)."""
    values = [str(value) for name in names for value in msg.get_all(name, [])]
    return [addr.strip().lower() for _, addr in email.utils.getaddresses(values) if "@" in addr]


def _is_relay(address: str) -> bool:
    local, _, domain = address.rpartition("@")
    return (
        bool(local) and local not in NON_BUYER_LOCAL_PARTS and domain.rstrip(".") in RELAY_DOMAINS
    )


def _sent_at(msg: Message, source_id: str) -> datetime:
    """The Date header as an aware UTC instant; a missing offset is an error, never a guess."""
    value = msg.get("Date")
    if value is None or not str(value).strip():
        raise MailParseError(source_id, "no Date header")
    try:
        moment = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        raise MailParseError(source_id, "Date header is not an RFC 5322 date") from None
    if moment.tzinfo is None:  # no zone, or "-0000", which RFC 5322 defines as "unknown"
        raise MailParseError(source_id, "Date header has no UTC offset")
    return moment.astimezone(UTC)


def _header_text(msg: Message, name: str) -> str:
    """A header as text: encoded-words decoded, raw 8-bit (RFC 6532 UTF-8) read as UTF-8."""
    value = msg.get(name)
    if value is None:
        return ""
    try:
        # A Header object is how the lenient parser hands over raw 8-bit bytes.
        parts = decode_header(value if isinstance(value, Header) else str(value))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return str(value)  # undecodable encoded-words: search the text as it stands
    return "".join(
        chunk
        if isinstance(chunk, str)
        else _decode(chunk, None if charset in (None, "unknown-8bit") else charset)
        for chunk, charset in parts
    )


def _order_id(text: str) -> str | None:
    match = ORDER_ID.search(text)
    return match.group(1) if match else None


def _body_text(msg: Message) -> str:
    """The plain-text parts, or the HTML parts reduced to text; attachments are skipped."""
    plain: list[str] = []
    html: list[str] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        if str(part.get("Content-Disposition") or "").strip().lower().startswith("attachment"):
            continue
        subtype = part.get_content_subtype()
        if subtype not in ("plain", "html"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        text = _decode(payload[:BODY_SCAN_LIMIT], part.get_content_charset())
        (plain if subtype == "plain" else html).append(text)
    if plain:
        return "\n".join(plain)
    return "\n".join(_html_text(text) for text in html)


def _decode(payload: bytes, charset: str | None) -> str:
    try:
        return payload.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        return payload.decode("utf-8", errors="replace")


class _TextOfHtml(HTMLParser):
    """The visible text of an HTML part; script and style content is not text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    return " ".join(parser.parts)


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\n{value}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def message_key(header_value: str) -> str:
    """The ``message_id`` of a Message-ID header value: a digest, so no address is an id."""
    match = _ANGLE_ID.search(header_value)
    return "msg-" + _digest("message-id", match.group(1) if match else header_value.strip())


def _message_id(msg: Message, raw: bytes) -> str:
    value = str(msg.get("Message-ID") or "").strip()
    if value:
        return message_key(value)
    # No Message-ID (every MTA adds one, so this is rare): a digest of what every copy of the
    # message shares, so the same email read from IMAP and from an mbox upserts as one. Line
    # endings are normalised because mbox stores LF where IMAP sends CRLF.
    _, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    fields = "\n".join(str(msg.get(name) or "") for name in ("Date", "From", "To", "Subject"))
    content = fields + "\n" + hashlib.sha256(body.rstrip()).hexdigest()
    return "msg-" + _digest("content", content)


def _thread_id(msg: Message, relay: str, order_id: str | None, threads: Mapping[str, str]) -> str:
    """Buyer relay address plus order id; without an order id, the parent's thread if known.

    Amazon gives each buyer one relay address, and the order id is what Seller Central's own
    conversation view groups by. A pre-order question has no order id: its thread is the
    relay address alone, unless the message answers one whose thread we already know.
    """
    if order_id is None:
        for parent in _referenced_ids(msg):
            known = threads.get(message_key(parent))
            if known is not None:
                return known
    return "thr-" + _digest("thread", f"{relay}\n{order_id or ''}")


def _referenced_ids(msg: Message) -> list[str]:
    """In-Reply-To first, then References from the newest back: the nearest parent first."""
    in_reply_to = _ANGLE_ID.findall(str(msg.get("In-Reply-To") or ""))
    references = _ANGLE_ID.findall(str(msg.get("References") or ""))
    return [f"<{value}>" for value in in_reply_to + references[::-1]]


def _is_automated(msg: Message, subject: str) -> bool:
    auto_submitted = str(msg.get("Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if any(msg.get(name) is not None for name in AUTO_HEADERS):
        return True
    if str(msg.get("Precedence") or "").strip().lower() == "auto_reply":
        return True
    return bool(AUTO_SUBJECT.match(subject))


# --------------------------------------------------------------------------------------------
# Reading a whole source


@dataclass
class MailboxScan:
    """What one pass over a source gave: records, quarantined source ids, ignored mail count."""

    records: list[MailRecord] = field(default_factory=list)
    quarantined: list[MailParseError] = field(default_factory=list)
    ignored: int = 0


def read_mailbox(
    items: Iterable[tuple[str, bytes]], threads: Mapping[str, str] | None = None
) -> MailboxScan:
    """Parse every ``(source_id, raw)``; malformed buyer messages are quarantined, not fatal.

    Threads learnt along the way are added to a copy of ``threads``, so a reply later in the
    same pass joins its parent's thread even when it lost the order id.
    """
    known = dict(threads or {})
    scan = MailboxScan()
    for source_id, raw in items:
        try:
            record = parse_message(raw, source_id=source_id, threads=known)
        except MailParseError as exc:
            log.warning("%s", exc)  # names the source and a fixed reason only
            scan.quarantined.append(exc)
            continue
        if record is None:
            scan.ignored += 1
            continue
        known[record.message_id] = record.thread_id
        scan.records.append(record)
    return scan


# --------------------------------------------------------------------------------------------
# Local sources


class MaildirSource:
    """A Maildir (or a Maildir++ folder such as ``~/Maildir/.Amazon``), read without changes.

    The position key is the Maildir unique name, which survives the ``new/``→``cur/`` move and
    flag changes; a caller passes the keys it already holds to read only new mail.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"MaildirSource({str(self.path)!r})"

    def messages(self, done: Iterable[str] = ()) -> Iterator[tuple[str, bytes]]:
        """``(source_id, raw)`` for every message whose key is not in ``done``, in key order."""
        try:
            box = mailbox.Maildir(self.path, factory=None, create=False)
            keys = sorted(box.keys())
        except (OSError, mailbox.Error) as exc:
            raise MailboxError(f"Maildir {self.path} cannot be read: {_os_reason(exc)}") from None
        skip = set(done)
        for key in keys:
            if key in skip:
                continue
            try:
                raw = box.get_bytes(key)
            except (KeyError, FileNotFoundError):
                continue  # expunged by the mail client since the listing
            yield self.source_id(key), raw

    @staticmethod
    def source_id(key: str) -> str:
        return f"maildir:{key}"

    @staticmethod
    def key_of(source_id: str) -> str:
        """The position key back from a ``source_id`` (for the caller's ``done`` set)."""
        return source_id.removeprefix("maildir:")


class MboxSource:
    """An mbox file, read without locking or changes.

    The position is the message's ordinal in the file (0 = first), stable while mail is only
    appended, which is how mbox files grow; pass the last position read to get only new mail.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"MboxSource({str(self.path)!r})"

    def messages(self, after: int = -1) -> Iterator[tuple[str, bytes]]:
        """``(source_id, raw)`` for every message at a position greater than ``after``."""
        if not self.path.is_file():
            raise MailboxError(f"mbox {self.path} is not a file")
        try:
            box = mailbox.mbox(self.path, factory=None, create=False)
            keys = sorted(key for key in box.iterkeys() if key > after)  # not iter(box): messages
            for key in keys:
                yield self.source_id(key), box.get_bytes(key)
        except (OSError, mailbox.Error) as exc:
            raise MailboxError(f"mbox {self.path} cannot be read: {_os_reason(exc)}") from None

    @staticmethod
    def source_id(position: int) -> str:
        return f"mbox:{position}"


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


# --------------------------------------------------------------------------------------------
# IMAP


class _Secret:
    """A password that prints as ``<hidden>``: reprs, ``vars()`` and logs never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def scrub(self, text: str) -> str:
        return text.replace(self._value, "<hidden>") if self._value else text

    def __repr__(self) -> str:
        return "<hidden>"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a password is not pickled")


class ImapSource:
    """An IMAP folder read over TLS (or STARTTLS), read-only and incrementally by UID.

    Read-only because it is the seller's mailbox: the folder is opened with EXAMINE and bodies
    are fetched with ``BODY.PEEK[]``, so no ``\\Seen`` flag is set and nothing is moved. The
    cursor is ``(UIDVALIDITY, last UID)``: UIDs only grow within one UIDVALIDITY, and when the
    server changes UIDVALIDITY (folder recreated, server migrated) the old UIDs mean nothing, so
    reading starts again from the first message; the store's upsert by ``message_id`` makes that
    idempotent. Bodies are fetched in batches of ``batch_size`` UIDs, one command per batch.
    There is no plain-text mode: without TLS the password would travel in clear.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        folder: str = "INBOX",
        *,
        ssl_context: ssl.SSLContext | None = None,
        starttls: bool = False,
        timeout: float = 30,
        batch_size: int = 100,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.host = host
        self.port = port
        self.username = username
        self._password = _Secret(password)
        self.folder = folder
        self.ssl_context = ssl_context
        self.starttls = starttls
        self.timeout = timeout
        self.batch_size = batch_size
        self._conn: imaplib.IMAP4 | None = None

    def __repr__(self) -> str:
        mode = "starttls" if self.starttls else "tls"
        return (
            f"ImapSource(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"password=<hidden>, folder={self.folder!r}, {mode})"
        )

    # -- connection ------------------------------------------------------------------------

    def __enter__(self) -> ImapSource:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _where(self) -> str:
        return f"IMAP {self.host}:{self.port}"

    def connect(self) -> None:
        """Open the TLS connection and log in; a clear :class:`MailboxError` otherwise."""
        if self._conn is not None:
            return
        context = self.ssl_context or ssl.create_default_context()
        try:
            if self.starttls:
                conn: imaplib.IMAP4 = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
                if "STARTTLS" not in conn.capabilities:
                    _quietly_logout(conn)
                    raise MailboxError(f"{self._where} does not offer STARTTLS; not logging in")
                conn.starttls(ssl_context=context)
            else:
                conn = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=context, timeout=self.timeout
                )
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(
                f"{self._where}: TLS failed: certificate verify failed ({exc.verify_message}); "
                "pass an ssl_context that trusts the server's CA"
            ) from None
        except ssl.SSLError as exc:
            reason = exc.reason or type(exc).__name__
            raise MailboxError(f"{self._where}: TLS failed: {reason}") from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"{self._where}: cannot connect: {_imap_reason(exc)}") from None
        try:
            conn.login(self.username, self._password.reveal())
        except (imaplib.IMAP4.error, OSError, UnicodeError) as exc:
            _quietly_logout(conn)
            said = self._password.scrub(_imap_reason(exc))
            raise MailboxError(
                f"{self._where}: login as {self.username!r} refused (check the username and "
                f"password): {said}"
            ) from None
        self._conn = conn

    def close(self) -> None:
        """Log out; safe to call twice, and after a failure."""
        conn, self._conn = self._conn, None
        if conn is not None:
            _quietly_logout(conn)

    # -- reading ---------------------------------------------------------------------------

    def fetch(self, after_uid: int = 0, uidvalidity: int | None = None) -> ImapFetch:
        """Open the folder read-only and return the messages after ``after_uid``.

        The result carries the folder's current ``uidvalidity`` (store it with the last UID)
        and ``restarted``, true when the stored UIDVALIDITY no longer holds and reading
        starts again from UID 1. Iterate it for ``(uid, raw)`` in UID order.
        """
        self.connect()
        conn = self._conn
        assert conn is not None
        try:
            typ, data = conn.select(_quote_mailbox(self.folder), readonly=True)  # EXAMINE
            if typ != "OK":
                raise MailboxError(
                    f"{self._where}: folder {self.folder!r} cannot be opened read-only: "
                    f"{_text(data)}"
                )
            _, values = conn.response("UIDVALIDITY")
            current = _first_int(values)
            if current is None:
                raise MailboxError(f"{self._where}: folder {self.folder!r} has no UIDVALIDITY")
            restarted = uidvalidity is not None and uidvalidity != current
            start = 0 if restarted else max(after_uid, 0)
            if restarted:
                log.info(
                    "%s folder %r: UIDVALIDITY changed, reading again from the start",
                    self._where,
                    self.folder,
                )
            uids = self._uids_after(conn, start)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"{self._where}: {_imap_reason(exc)}") from None
        return ImapFetch(self, current, restarted, uids)

    def _uids_after(self, conn: imaplib.IMAP4, after: int) -> list[int]:
        """UIDs above ``after``, ascending. ESEARCH answers in ranges, which keeps the reply
        small in a big folder (a plain SEARCH lists every UID on one line)."""
        criteria = f"UID {after + 1}:*"
        if "ESEARCH" in _capabilities(conn):
            typ, _ = conn.uid("SEARCH", "RETURN", "(ALL)", criteria)
            _, lines = conn.response("ESEARCH")
            uids = [uid for line in lines if line for uid in _esearch_all(line)]
        else:
            typ, lines = conn.uid("SEARCH", criteria)
            uids = [int(token) for line in lines if line for token in line.split()]
        if typ != "OK":
            raise MailboxError(f"{self._where}: UID SEARCH failed in folder {self.folder!r}")
        # "n:*" always includes the highest UID, even one below n (RFC 3501 6.4.8).
        return sorted(uid for uid in set(uids) if uid > after)

    def _fetch_batch(self, uids: list[int]) -> dict[int, bytes]:
        conn = self._conn
        if conn is None:
            raise MailboxError(f"{self._where}: connection closed while reading")
        uid_set = ",".join(str(uid) for uid in uids)
        try:
            typ, data = conn.uid("FETCH", uid_set, "(UID BODY.PEEK[])")
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(
                f"{self._where}: fetching UIDs {uids[0]}-{uids[-1]} failed: {_imap_reason(exc)}"
            ) from None
        if typ != "OK":
            raise MailboxError(f"{self._where}: fetching UIDs {uids[0]}-{uids[-1]} failed")
        return _fetched_bodies(data)

    def source_id(self, uidvalidity: int, uid: int) -> str:
        """``imap:FOLDER;UIDVALIDITY=v/;UID=n`` (the RFC 5092 path form, without the host)."""
        return f"imap:{self.folder};UIDVALIDITY={uidvalidity}/;UID={uid}"


@dataclass
class ImapFetch:
    """The new messages of one :meth:`ImapSource.fetch`: iterate for ``(uid, raw)``.

    ``last_uid`` follows the iteration, so a caller that stops half-way (or fails on a
    message) stores exactly how far it got.
    """

    source: ImapSource
    uidvalidity: int
    restarted: bool
    uids: list[int]
    last_uid: int = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        size = self.source.batch_size
        for start in range(0, len(self.uids), size):
            batch = self.uids[start : start + size]
            bodies = self.source._fetch_batch(batch)
            for uid in batch:
                raw = bodies.get(uid)
                if raw is None:
                    continue  # expunged since the search
                self.last_uid = uid
                yield uid, raw

    def messages(self) -> Iterator[tuple[str, bytes]]:
        """The same messages as ``(source_id, raw)``, for :func:`read_mailbox`."""
        for uid, raw in self:
            yield self.source.source_id(self.uidvalidity, uid), raw


def _quote_mailbox(name: str) -> str:
    """A folder name as an IMAP quoted string, non-ASCII in modified UTF-7 (RFC 3501 5.1.3)."""
    encoded = _modified_utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _modified_utf7(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            chunk = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(chunk).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _capabilities(conn: imaplib.IMAP4) -> set[str]:
    """Capabilities after login (servers such as Dovecot advertise more than before it)."""
    typ, data = conn.capability()
    if typ != "OK":
        return set(conn.capabilities)
    return {token.upper() for line in data if line for token in _text([line]).split()}


_ESEARCH_ALL = re.compile(rb"\bALL\s+([0-9:,]+)", re.IGNORECASE)


def _esearch_all(line: bytes) -> Iterator[int]:
    match = _ESEARCH_ALL.search(line)
    if match is None:
        return
    for part in match.group(1).split(b","):
        low, _, high = part.partition(b":")
        first, last = int(low), int(high or low)
        yield from range(min(first, last), max(first, last) + 1)


_FETCH_UID = re.compile(rb"\bUID\s+(\d+)", re.IGNORECASE)


def _fetched_bodies(data: list[object]) -> dict[int, bytes]:
    """``{uid: body}`` from imaplib's FETCH reply: ``(head, literal)`` tuples, each followed by
    the closing bytes, where the UID sits in the head or (for some servers) after the literal.
    Untagged FLAGS updates in between are plain bytes and are skipped."""
    bodies: dict[int, bytes] = {}
    for index, item in enumerate(data):
        if not (isinstance(item, tuple) and len(item) == 2):
            continue
        head, literal = item
        match = _FETCH_UID.search(head)
        if match is None and index + 1 < len(data) and isinstance(data[index + 1], bytes):
            match = _FETCH_UID.search(data[index + 1])  # type: ignore[arg-type]
        if match is not None and isinstance(literal, bytes):
            bodies[int(match.group(1))] = literal
    return bodies


def _first_int(values: list[object]) -> int | None:
    for value in values:
        if isinstance(value, bytes | str):
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
            if text.strip().isdigit():
                return int(text)
    return None


def _text(data: list[object] | None) -> str:
    """A server reply line as text for an error (servers' own words, not message content)."""
    for item in data or []:
        if isinstance(item, bytes):
            return item.decode("utf-8", "replace")[:200]
        if isinstance(item, str):
            return item[:200]
    return "(no reason given)"


def _imap_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text[:200] or type(exc).__name__


def _quietly_logout(conn: imaplib.IMAP4) -> None:
    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        conn.logout()
