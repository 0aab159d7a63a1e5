"""Turns a rendered report into an email message, ready for ``notify.mailer.send``.

Mail clients ignore most ``<style>`` blocks, so the CSS is inlined into ``style=`` attributes;
the block stays too, for the ``@media`` rules of clients that honour them (phones). Bodies are
quoted-printable, so the message is 7-bit clean and any relay accepts it unchanged.

Shop names reach subjects and attachment names from marketplaces: they are untrusted. A line
break in them is folded into a space so it can never start a header of its own; an address with
a line break is refused outright, as it cannot be made safe without guessing who was meant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import css_inline

# Every character str.splitlines() breaks on, plus the whitespace around it.
_LINE_BREAK = re.compile(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_MIME_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")
_MSGID_DOMAIN = "seller-health.invalid"  # never the host name: it would leak and can be slow

# No network: a <link rel=stylesheet> is dropped, never fetched.
_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


@dataclass(frozen=True)
class Attachment:
    """A file sent along with the report (a PDF, an HTML audit)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"

    def __post_init__(self) -> None:
        if not _MIME_TYPE.match(self.mime_type):
            raise ValueError(f"not a MIME type: {self.mime_type!r}")
        if not isinstance(self.content, bytes):
            raise TypeError("attachment content must be bytes")


def one_line(value: str) -> str:
    """``value`` as a single header-safe line: line breaks (and the space around) become a space."""
    return _CONTROL.sub("", _LINE_BREAK.sub(" ", value)).strip()


def parse_address(value: str) -> Address:
    """Exactly one well-formed address, else ValueError naming the value."""
    if _LINE_BREAK.search(value) or _CONTROL.search(value):
        raise ValueError(f"email address contains a line break or control character: {value!r}")
    try:
        header = policy.SMTP.header_factory("To", value)
        addresses = header.addresses
        defects = header.defects
    except Exception:  # the stdlib parser raises IndexError too on some inputs
        raise ValueError(f"not an email address: {value!r}") from None
    if len(addresses) != 1 or defects or not (addresses[0].username and addresses[0].domain):
        raise ValueError(f"not a single email address: {value!r}")
    return addresses[0]


def inline_css(html: str) -> str:
    """The HTML with its ``<style>`` rules copied into ``style=`` attributes, block kept."""
    return _INLINER.inline(html)


def compose(
    *,
    sender: str,
    to: Sequence[str],
    subject: str,
    html: str,
    text: str,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML), inside multipart/mixed if attached to.

    Raises ValueError for a sender or recipient that is not exactly one clean address.
    """
    from_address = parse_address(sender)
    recipients = [parse_address(address) for address in ([to] if isinstance(to, str) else to)]
    if not recipients:
        raise ValueError("an email needs at least one recipient")

    message = EmailMessage(policy=policy.SMTP)
    message["From"] = from_address
    message["To"] = recipients
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=from_address.domain or _MSGID_DOMAIN)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message["MIME-Version"] = "1.0"

    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(
        inline_css(html), subtype="html", charset="utf-8", cte="quoted-printable"
    )
    for attachment in attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=one_line(attachment.filename) or "attachment",
        )
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # the stdlib adds one to every part; only the top needs it
    return message
