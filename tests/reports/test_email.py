"""Report emails as a mail client sees them: parsed back from the bytes that would be sent."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from seller_health.reports.email import Attachment, compose

SENDER = "Seller Health <reports@seller-health.example>"
HTML = """<!doctype html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="http://127.0.0.1:9/never-fetched.css">
<style>
.banner { color: #b42318; font-weight: 600; }
@media (max-width: 600px) { .banner { font-size: 12px; } }
</style></head>
<body><p class="banner">Tienda Ñandú — atenção</p></body></html>
"""
TEXT = "Tienda Ñandú — atenção\n"


def _sent(message: EmailMessage) -> EmailMessage:
    """The message as the receiving client parses it."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _compose(**overrides: object) -> EmailMessage:
    kwargs: dict[str, object] = {
        "sender": SENDER,
        "to": ["owner@shop.example"],
        "subject": "Weekly report",
        "html": HTML,
        "text": TEXT,
    }
    kwargs.update(overrides)
    return compose(**kwargs)  # type: ignore[arg-type]


def test_alternative_with_text_first_then_inlined_html() -> None:
    parsed = _sent(_compose())

    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parts[0].get_content().replace("\r\n", "\n") == TEXT  # CRLF: the wire's line end
    html = parts[1].get_content()
    assert 'class="banner" style="color: #b42318;font-weight: 600;"' in html
    assert "@media (max-width: 600px)" in html  # the <style> block stays for phones
    assert "Tienda Ñandú — atenção" in html
    assert "never-fetched.css" not in html  # remote stylesheets are neither loaded nor kept
    assert parsed.get_body(("html",)) is parts[1]


def test_headers() -> None:
    parsed = _sent(_compose(to=["owner@shop.example", '"Pérez, José" <jose@agency.example>']))

    assert parsed["From"].addresses[0].addr_spec == "reports@seller-health.example"
    assert [a.addr_spec for a in parsed["To"].addresses] == [
        "owner@shop.example",
        "jose@agency.example",
    ]
    assert parsed["To"].addresses[1].display_name == "Pérez, José"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["MIME-Version"] == "1.0"
    assert parsed["Message-ID"].endswith("@seller-health.example>")
    assert parsed["Date"].datetime.utcoffset().total_seconds() == 0
    assert _compose()["Message-ID"] != _compose()["Message-ID"]


@pytest.mark.parametrize(
    "subject",
    [
        "Informe semanal — Tienda Ñandú: 2 cuentas en riesgo",
        "Relatório: atenção à conta São João",
        "Rapporto: perché è così — negozio Città",
        "Ünïcödé " * 20,  # long enough to fold
    ],
)
def test_non_ascii_subject_round_trips(subject: str) -> None:
    message = _compose(subject=subject)

    assert message.as_bytes().isascii()  # encoded words and quoted-printable: any relay takes it
    assert _sent(message)["Subject"] == subject.strip()


@pytest.mark.parametrize(
    "subject",
    [
        "Report for Shop\r\nBcc: evil@example.com",
        "Report for Shop\nBcc: evil@example.com",
        "Report for Shop \r\n\r\n Bcc: evil@example.com",
        "Report for Shop\u2028Bcc: evil@example.com",
    ],
)
def test_line_breaks_in_subject_never_make_a_header(subject: str) -> None:
    parsed = _sent(_compose(subject=subject))

    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Report for Shop Bcc: evil@example.com"
    assert parsed.get_content_type() == "multipart/alternative"  # the body did not start early


@pytest.mark.parametrize(
    "address",
    [
        "owner@shop.example\r\nBcc: evil@example.com",
        "owner@shop.example\nBcc: evil@example.com",
        "Owner\r <owner@shop.example>",
    ],
)
def test_address_with_line_break_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="line break") as caught:
        _compose(to=["ok@shop.example", address])
    assert repr(address) in str(caught.value)
    with pytest.raises(ValueError, match="line break"):
        _compose(sender=address)


@pytest.mark.parametrize("address", ["", "nobody", "a@", "a@b.example, c@d.example"])
def test_not_exactly_one_address_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="address"):
        _compose(to=[address])


def test_no_recipients_is_refused() -> None:
    with pytest.raises(ValueError, match="recipient"):
        _compose(to=[])


def test_attachments_make_multipart_mixed() -> None:
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\nbinary\x00data"
    audit = "<html><body>Auditoría</body></html>".encode()
    parsed = _sent(
        _compose(
            attachments=[
                Attachment("informe-Ñandú.pdf", pdf, "application/pdf"),
                Attachment("audit\r\nX-Evil: 1.html", audit, "text/html"),
            ]
        )
    )

    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed["X-Evil"] is None
    first, *attached = parsed.iter_parts()
    assert first.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]
    assert [(a.get_filename(), a.get_content_type()) for a in attached] == [
        ("informe-Ñandú.pdf", "application/pdf"),
        ("audit X-Evil: 1.html", "text/html"),
    ]
    assert all(a.get_content_disposition() == "attachment" for a in attached)
    assert attached[0].get_content() == pdf
    assert attached[1].get_payload(decode=True) == audit
    assert parsed.get_body(("html", "plain")).get_content_type() == "text/html"


def test_attachment_needs_a_mime_type() -> None:
    with pytest.raises(ValueError, match="MIME type"):
        Attachment("x.pdf", b"", "pdf")
