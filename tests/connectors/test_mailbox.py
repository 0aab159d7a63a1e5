"""Buyer messages from a mailbox: parsing Amazon relay mail, Maildir, mbox and IMAP (Dovecot).

The sample emails are written here, shaped like Amazon's "Buyer Messages" notifications as
helpdesk setup guides show them (buyer's anonymised relay address in From, order id in the
subject and body); no real message or address is used.
"""

from __future__ import annotations

import logging
import mailbox
import pickle
from datetime import UTC, datetime
from email.header import Header
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seller_health.connectors.mailbox import (
    RELAY_DOMAINS,
    ImapSource,
    MailboxError,
    MaildirSource,
    MailParseError,
    MboxSource,
    parse_message,
    read_mailbox,
)
from tests.connectors import dovecot as dovecot_helper
from tests.connectors.dovecot import Dovecot

dovecot = dovecot_helper.dovecot  # the private server fixture, one per module

BUYER = "q7k2m9x4v1b8n3t@marketplace.amazon.co.uk"
SELLER = "support@acme-tools.example"
ORDER = "202-8374651-1928374"


def mail(
    *,
    sender: str = f'"Jane B. - Amazon Marketplace" <{BUYER}>',
    to: str = SELLER,
    subject: str = f"Inquiry from Amazon customer Jane B. (Order: {ORDER})",
    date: str | None = "Mon, 23 Nov 2026 09:14:05 +0100",
    message_id: str | None = "<0102018f2a9c3e4b-1a2b3c4d-000000@eu-west-1.amazonses.com>",
    body: str = "",
    extra: str = "",
    content_type: str = "text/plain; charset=UTF-8",
    transfer_encoding: str = "8bit",
    newline: str = "\r\n",
    encoding: str = "utf-8",
) -> bytes:
    """A raw message; ``None`` leaves a header out."""
    if not body:
        body = (
            "------------- Begin message -------------\n\n"
            "Hello, my parcel has not arrived yet. Could you check the tracking please?\n\n"
            "------------- End message -------------\n\n"
            f"Order ID: {ORDER}\n"
            "1 x Cordless drill 18V\n\n"
            "To respond to this customer, reply to this e-mail or visit your seller account.\n"
        )
    headers = [
        "Return-Path: <bounces@relay.example>",
        "Received: from relay.example by mx.acme-tools.example; Mon, 23 Nov 2026 08:14:07 +0000",
        *([f"Date: {date}"] if date is not None else []),
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        *([f"Message-ID: {message_id}"] if message_id is not None else []),
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
        f"Content-Transfer-Encoding: {transfer_encoding}",
        *extra.splitlines(),
    ]
    text = "\n".join(headers) + "\n\n" + body
    return text.replace("\n", newline).encode(encoding)


def reply(**kwargs: object) -> bytes:
    """The seller's copy of a reply to the buyer's relay address (Bcc'd to the mailbox)."""
    options: dict[str, object] = {
        "sender": f"Acme Support <{SELLER}>",
        "to": BUYER,
        "subject": f"RE: Inquiry from Amazon customer Jane B. (Order: {ORDER})",
        "date": "Mon, 23 Nov 2026 11:02:40 +0000",
        "message_id": "<reply-1@mail.acme-tools.example>",
        "body": "Hi Jane, your parcel is with the carrier and due tomorrow. Acme Support\n",
    }
    options.update(kwargs)
    return mail(**options)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Parsing


def test_inbound_buyer_message_with_order_id():
    record = parse_message(mail(), source_id="maildir:1")
    assert record is not None
    assert record.source_id == "maildir:1"
    assert record.direction == "in"
    assert record.order_id == ORDER
    assert record.sent_at == datetime(2026, 11, 23, 8, 14, 5, tzinfo=UTC)
    assert record.needs_reply is True  # no "no response needed" marker reaches email
    assert record.automated is False
    assert record.channel == "marketplace"
    assert record.agent is None and record.resolved_at is None
    assert record.message_id.startswith("msg-") and "@" not in record.message_id
    assert record.thread_id.startswith("thr-") and "amazon" not in record.thread_id


def test_seller_reply_copy_is_outbound_in_the_same_thread():
    inbound = parse_message(mail())
    outbound = parse_message(reply())
    assert inbound is not None and outbound is not None
    assert outbound.direction == "out"
    assert outbound.thread_id == inbound.thread_id
    assert outbound.order_id == ORDER
    assert outbound.agent == SELLER
    assert outbound.needs_reply is None
    assert outbound.automated is False
    assert outbound.message_id != inbound.message_id


def test_thread_is_per_buyer_and_order():
    base = parse_message(mail())
    other_order = parse_message(mail(subject="Question (Order: 202-1111111-2222222)", body="x"))
    other_buyer = parse_message(mail(sender="zz9@marketplace.amazon.co.uk"))
    pre_order = parse_message(mail(subject="Question about a product", body="Is it 18V?"))
    assert base and other_order and other_buyer and pre_order
    assert len({base.thread_id, other_order.thread_id, other_buyer.thread_id}) == 3
    assert pre_order.order_id is None and pre_order.thread_id != base.thread_id


def test_reply_without_order_id_joins_its_parent_by_in_reply_to():
    question = mail(subject="Question about a product", body="Is it 18V?", message_id="<q1@x>")
    first = reply(subject="Your question", body="Yes.", message_id="<r1@x>")
    answer = reply(
        subject="Your question",
        body="Yes, 18V.",
        message_id="<r2@x>",
        extra="In-Reply-To: <r1@x>\nReferences: <q1@x> <r1@x>",
    )
    scan = read_mailbox(
        [("m:1", mail(message_id="<o1@x>")), ("m:2", question), ("m:3", first), ("m:4", answer)]
    )
    order_thread, question_thread, first_reply, answer_record = scan.records
    assert first_reply.thread_id == question_thread.thread_id  # same relay, no order
    assert answer_record.thread_id == first_reply.thread_id
    # a reply whose parent is unknown falls back on the relay address alone
    orphan = parse_message(
        reply(subject="Re: earlier", body="ok", extra="In-Reply-To: <unknown@x>")
    )
    assert orphan is not None and orphan.thread_id == question_thread.thread_id
    assert order_thread.thread_id != question_thread.thread_id


def test_threads_map_from_the_store_is_used():
    parent = parse_message(mail())
    assert parent is not None
    child = parse_message(
        reply(subject="About your order", body="Sorry!", extra="In-Reply-To: " + mail_id()),
        threads={parent.message_id: parent.thread_id},
    )
    assert child is not None and child.order_id is None
    assert child.thread_id == parent.thread_id


def mail_id() -> str:
    return "<0102018f2a9c3e4b-1a2b3c4d-000000@eu-west-1.amazonses.com>"


@pytest.mark.parametrize(
    "extra",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated",
        "X-Autoreply: yes",
        "Precedence: auto_reply",
    ],
)
def test_auto_reply_headers_mark_automated(extra):
    record = parse_message(reply(extra=extra))
    assert record is not None and record.automated is True


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Inquiry from Amazon customer",
        "Out of Office: back on Monday",
        "Automatische Antwort: Ihre Anfrage",
        "Réponse automatique : absent",
        "Risposta automatica: Re: ordine",
    ],
)
def test_auto_reply_subjects_mark_automated(subject):
    record = parse_message(reply(subject=subject))
    assert record is not None and record.automated is True


def test_auto_submitted_no_and_human_re_are_not_automated():
    assert parse_message(reply(extra="Auto-Submitted: no")).automated is False  # type: ignore[union-attr]
    human = parse_message(reply(subject="Re: Automatic reply: Inquiry"))
    assert human is not None and human.automated is False


def test_inbound_auto_reply_is_automated_and_still_needs_reply():
    record = parse_message(mail(extra="Auto-Submitted: auto-replied"))
    assert record is not None
    assert record.direction == "in" and record.automated is True and record.needs_reply is True


@pytest.mark.parametrize(
    "raw",
    [
        mail(sender="Newsletter <news@shop.example>"),
        mail(sender="Amazon <seller-notification@amazon.com>"),
        mail(sender="evil@marketplace.amazon.com.attacker.example"),
        mail(sender="donotreply@marketplace.amazon.com"),
        reply(to="someone@example.org"),
        b"",
        b"\x00\xff\xfe not an email at all",
    ],
    ids=["newsletter", "amazon-notice", "lookalike", "role", "seller-to-other", "empty", "junk"],
)
def test_mail_that_is_not_a_buyer_conversation_is_ignored(raw):
    assert parse_message(raw) is None


@pytest.mark.parametrize(
    "domain",
    [
        "marketplace.amazon.com",
        "marketplace.amazon.co.uk",
        "marketplace.amazon.de",
        "marketplace.amazon.fr",
        "marketplace.amazon.it",
        "marketplace.amazon.es",
        "marketplace.amazon.ca",
        "marketplace.amazon.com.mx",
        "marketplace.amazon.co.jp",
        "marketplace.amazon.com.au",
        "MARKETPLACE.Amazon.NL",
    ],
)
def test_relay_domains_of_every_marketplace(domain):
    record = parse_message(mail(sender=f"Buyer <abc123xyz@{domain}>"))
    assert record is not None and record.direction == "in"
    assert domain.lower() in RELAY_DOMAINS


@pytest.mark.parametrize(
    ("date", "reason"),
    [
        ("Mon, 23 Nov 2026 09:14:05", "Date header has no UTC offset"),
        ("Mon, 23 Nov 2026 09:14:05 -0000", "Date header has no UTC offset"),
        ("yesterday at noon", "Date header is not an RFC 5322 date"),
        (None, "no Date header"),
    ],
)
def test_bad_date_is_a_reason_not_a_guess(date, reason):
    with pytest.raises(MailParseError) as caught:
        parse_message(mail(date=date), source_id="imap:INBOX;UIDVALIDITY=7/;UID=42")
    assert caught.value.reason == reason
    assert caught.value.source_id == "imap:INBOX;UIDVALIDITY=7/;UID=42"
    text = str(caught.value)
    assert "UID=42" in text
    assert BUYER not in text and "parcel" not in text and "09:14" not in text
    assert pickle.loads(pickle.dumps(caught.value)).reason == reason


def test_named_zones_are_offsets():
    record = parse_message(mail(date="Mon, 23 Nov 2026 09:14:05 GMT"))
    assert record is not None and record.sent_at == datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC)


def test_missing_message_id_gets_a_stable_content_digest():
    lf = parse_message(mail(message_id=None, newline="\n"))
    crlf = parse_message(mail(message_id=None))
    other = parse_message(mail(message_id=None, body="A different question, 202-8374651-1928374"))
    assert lf is not None and crlf is not None and other is not None
    assert lf.message_id == crlf.message_id  # mbox (LF) and IMAP (CRLF) copies agree
    assert lf.message_id.startswith("msg-") and lf.message_id != other.message_id
    with_id = parse_message(mail())
    assert with_id is not None and with_id.message_id != lf.message_id


def test_message_id_digest_ignores_folding_and_brackets():
    a = parse_message(mail(message_id="<abc@x.example>"))
    b = parse_message(mail(message_id="\n <abc@x.example>  "))
    assert a is not None and b is not None and a.message_id == b.message_id


def test_non_ascii_subject_and_latin1_quoted_printable_body():
    subject = Header("Anfrage von Amazon-Kundin Jürgen Müßig", "utf-8").encode()
    body = "Grüße! Wo bleibt meine Bestellung 302-1234567-7654321? Danke, Jürgen\n"
    raw = mail(
        sender="=?utf-8?q?J=C3=BCrgen?= <k8s7d6f5g4h3@marketplace.amazon.de>",
        subject=subject,
        body=body,
        content_type="text/plain; charset=ISO-8859-1",
        encoding="latin-1",
    )
    record = parse_message(raw)
    assert record is not None and record.order_id == "302-1234567-7654321"


def test_order_id_in_an_encoded_subject():
    subject = Header(f"Question sur la commande {ORDER} — où est mon colis ?", "utf-8").encode()
    record = parse_message(mail(subject=subject, body="Bonjour"))
    assert record is not None and record.order_id == ORDER


def test_html_only_body():
    html = (
        "<html><head><style>.x{content:'999-9999999-9999999'}</style>"
        "<script>var fake='111-1111111-1111111';</script></head><body>"
        f"<p>Order ID: <b>{ORDER}</b></p><p>Wo ist mein Paket?</p></body></html>"
    )
    record = parse_message(
        mail(subject="Message from a customer", body=html, content_type="text/html; charset=utf-8")
    )
    assert record is not None and record.order_id == ORDER


def test_multipart_prefers_plain_text_and_skips_attachments():
    body = (
        "--b1\n"
        "Content-Type: text/plain; charset=utf-8\n\nSee order 203-5555555-6666666 please\n"
        "--b1\n"
        "Content-Type: text/html; charset=utf-8\n\n<p>See order 203-5555555-6666666</p>\n"
        "--b1\n"
        "Content-Type: text/plain; name=old.txt\nContent-Disposition: attachment\n\n"
        "old order 204-0000000-0000000\n"
        "--b1--\n"
    )
    record = parse_message(
        mail(
            subject="Help",
            body=body,
            content_type='multipart/alternative; boundary="b1"',
        )
    )
    assert record is not None and record.order_id == "203-5555555-6666666"


def test_subject_order_wins_and_lookalike_numbers_are_not_order_ids():
    record = parse_message(mail(body="Another: 202-0000000-0000001"))
    assert record is not None and record.order_id == ORDER
    none = parse_message(mail(subject="Tel 1202-8374651-19283745", body="ref 12-3456789-1234567"))
    assert none is not None and none.order_id is None


def test_markup_payload_stays_plain_data():
    payload = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"
    record = parse_message(
        mail(
            subject=f"{payload} (Order: {ORDER})",
            body=f"{payload}\n\"'; DROP TABLE messages; --\n{{{{ 7*7 }}}}\n",
            content_type="text/html; charset=utf-8",
        ),
        source_id="mbox:3",
    )
    assert record is not None and record.order_id == ORDER
    row = record.as_row("acme-uk")
    assert all("<" not in value and "alert" not in value for value in row.values())
    assert row["message_id"].startswith("msg-")


def test_as_row_is_the_import_format():
    record = parse_message(reply(extra="Auto-Submitted: auto-replied"))
    assert record is not None
    row = record.as_row("acme-uk")
    assert row == {
        "account_id": "acme-uk",
        "message_id": record.message_id,
        "thread_id": record.thread_id,
        "sent_at": "2026-11-23T11:02:40Z",
        "direction": "out",
        "order_id": ORDER,
        "needs_reply": "",
        "channel": "marketplace",
        "resolved_at": "",
        "agent": SELLER,
        "automated": "true",
    }


def test_read_mailbox_quarantines_without_leaking(caplog):
    caplog.set_level(logging.DEBUG, logger="seller_health.connectors.mailbox")
    scan = read_mailbox(
        [
            ("mbox:0", mail()),
            ("mbox:1", mail(date="Mon, 23 Nov 2026 09:14:05")),
            ("mbox:2", mail(sender="news@shop.example")),
        ]
    )
    assert [record.source_id for record in scan.records] == ["mbox:0"]
    assert [(exc.source_id, exc.reason) for exc in scan.quarantined] == [
        ("mbox:1", "Date header has no UTC offset")
    ]
    assert scan.ignored == 1
    assert "mbox:1" in caplog.text
    assert BUYER not in caplog.text and "parcel" not in caplog.text


def test_parse_message_wants_bytes():
    with pytest.raises(TypeError):
        parse_message(mail().decode())  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Maildir and mbox


def test_maildir_source_reads_incrementally_without_changes(tmp_path: Path):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    first = box.add(mail())
    box.add(reply())
    before = sorted(p.name for p in (tmp_path / "Maildir").rglob("*") if p.is_file())
    source = MaildirSource(tmp_path / "Maildir")

    items = list(source.messages())
    assert len(items) == 2 and {sid for sid, _ in items} == {
        f"maildir:{key}" for key in box.iterkeys()
    }
    scan = read_mailbox(items)
    assert sorted(r.direction for r in scan.records) == ["in", "out"]

    done = {MaildirSource.key_of(sid) for sid, _ in items}
    third = box.add(mail(sender="zz9@marketplace.amazon.de", message_id="<n@x>"))
    new = list(source.messages(done=done))
    assert [sid for sid, _ in new] == [f"maildir:{third}"]
    # read-only: files stay where they were (still in new/, no flags added)
    after = sorted(p.name for p in (tmp_path / "Maildir").rglob("*") if p.is_file())
    assert set(before) <= set(after) and first in {name.split(":")[0] for name in after}
    assert all(":2," not in name for name in after)


def test_maildir_key_survives_the_move_to_cur(tmp_path: Path):
    box = mailbox.Maildir(tmp_path / "md", create=True)
    key = box.add(mail())
    message = box.get_message(key)
    message.set_subdir("cur")
    message.add_flag("S")
    box[key] = message  # what a mail client does when the seller reads it
    [(source_id, _)] = list(MaildirSource(tmp_path / "md").messages())
    assert source_id == f"maildir:{key}"


def test_mbox_source_positions_are_stable_under_append(tmp_path: Path):
    path = tmp_path / "amazon.mbox"
    box = mailbox.mbox(path, create=True)
    box.add(mail())
    box.add(reply())
    box.flush()
    source = MboxSource(path)
    items = list(source.messages())
    assert [sid for sid, _ in items] == ["mbox:0", "mbox:1"]

    box.add(mail(sender="zz9@marketplace.amazon.fr", message_id="<n@x>"))
    box.flush()
    box.close()
    new = list(source.messages(after=1))
    assert [sid for sid, _ in new] == ["mbox:2"]
    record = parse_message(new[0][1], source_id=new[0][0])
    assert record is not None and record.source_id == "mbox:2" and record.direction == "in"
    # the same email read from the mbox (LF) and from IMAP (CRLF) has one id
    assert parse_message(items[0][1]).message_id == parse_message(mail()).message_id  # type: ignore[union-attr]


def test_missing_local_mailboxes_are_clear_errors(tmp_path: Path):
    with pytest.raises(MailboxError, match="Maildir .*nowhere"):
        list(MaildirSource(tmp_path / "nowhere").messages())
    with pytest.raises(MailboxError, match="mbox .*nothing.mbox is not a file"):
        list(MboxSource(tmp_path / "nothing.mbox").messages())


# --------------------------------------------------------------------------------------------
# IMAP against a real Dovecot on loopback


def test_password_is_never_shown():
    source = ImapSource("imap.example", 993, "seller@acme.example", "hunter2-Sup3r")
    assert "hunter2" not in repr(source)
    assert "hunter2" not in repr(vars(source))
    with pytest.raises(TypeError):
        pickle.dumps(source)


def test_imap_tls_with_the_generated_ca(dovecot: Dovecot):
    dovecot.deliver("TLS", mail())
    with dovecot.source("TLS") as source:
        fetched = source.fetch()
        [(uid, raw)] = list(fetched)
    assert uid == 1 and parse_message(raw) is not None
    # without the test CA the server is not trusted: a clear error, never a silent downgrade
    untrusted = ImapSource(dovecot.host, dovecot.imaps_port, dovecot.username, dovecot.password)
    with pytest.raises(MailboxError, match="TLS failed: certificate verify failed"):
        untrusted.connect()


def test_imap_starttls(dovecot: Dovecot):
    dovecot.deliver("StartTLS", mail(), reply())
    with dovecot.source("StartTLS", starttls=True) as source:
        assert len(list(source.fetch())) == 2


@pytest.mark.parametrize("esearch", [True, False], ids=["esearch", "plain-search"])
def test_imap_incremental_fetch(dovecot: Dovecot, esearch: bool, monkeypatch):
    if not esearch:
        import seller_health.connectors.mailbox as module

        monkeypatch.setattr(module, "_capabilities", lambda conn: set())
    folder = f"Amazon-{'e' if esearch else 'p'}"
    dovecot.deliver(folder, mail(), reply(), mail(sender="a1@marketplace.amazon.de"))
    with dovecot.source(folder, batch_size=2) as source:
        first = source.fetch(0, None)
        items = list(first.messages())
        assert first.restarted is False
        assert [sid.rsplit("=", 1)[1] for sid, _ in items] == ["1", "2", "3"]
        assert items[0][0] == f"imap:{folder};UIDVALIDITY={first.uidvalidity}/;UID=1"
        scan = read_mailbox(items)
        assert [r.direction for r in scan.records] == ["in", "out", "in"]
        cursor = (first.uidvalidity, first.last_uid)

        again = source.fetch(cursor[1], cursor[0])
        assert list(again) == []  # "4:*" would match UID 3 on the wire; it is filtered out

    dovecot.deliver(folder, reply(message_id="<r9@x>"), mail(message_id="<m9@x>"))
    with dovecot.source(folder) as source:
        second = source.fetch(cursor[1], cursor[0])
        assert [uid for uid, _ in second] == [4, 5]
        assert second.uidvalidity == cursor[0] and second.last_uid == 5


def test_imap_uidvalidity_change_starts_over(dovecot: Dovecot):
    dovecot.deliver("Rebuilt", mail(), reply())
    with dovecot.source("Rebuilt") as source:
        first = source.fetch()
        assert len(list(first)) == 2
    dovecot.recreate("Rebuilt")
    dovecot.deliver("Rebuilt", mail(message_id="<after@x>"))
    with dovecot.source("Rebuilt") as source:
        second = source.fetch(first.last_uid, first.uidvalidity)
        assert second.uidvalidity != first.uidvalidity and second.restarted is True
        [(uid, raw)] = list(second)
    assert uid == 1 and b"<after@x>" in raw


def test_imap_is_read_only(dovecot: Dovecot):
    dovecot.deliver("ReadOnly", mail(), reply(), mail(message_id="<x3@x>"))
    before = dovecot.flags("ReadOnly")
    assert before and all("\\Seen" not in flags for flags in before.values())
    with dovecot.source("ReadOnly") as source:
        assert len(list(source.fetch())) == 3
    assert dovecot.flags("ReadOnly") == before


def test_imap_wrong_password_is_a_clear_error(dovecot: Dovecot):
    wrong = "Wr0ng-Passw0rd-Nobody-Knows"
    source = dovecot.source("INBOX", password=wrong)
    with pytest.raises(MailboxError) as caught:
        source.fetch()
    text = str(caught.value)
    assert "login as 'seller' refused" in text and "AUTHENTICATIONFAILED" in text
    assert wrong not in text and wrong not in repr(source)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_imap_missing_folder(dovecot: Dovecot):
    with (
        dovecot.source("Does-Not-Exist") as source,
        pytest.raises(MailboxError, match="'Does-Not-Exist' cannot be opened read-only"),
    ):
        source.fetch()


def test_imap_non_ascii_folder_name(dovecot: Dovecot):
    # IMAP folder names travel in modified UTF-7 ("Bestellungen & Rückfragen")
    dovecot.deliver('"Bestellungen &- R&APw-ckfragen"', mail())
    with dovecot.source("Bestellungen & Rückfragen") as source:
        assert len(list(source.fetch())) == 1


@settings(max_examples=max(300, settings.default.max_examples), deadline=None)
@given(st.binary(max_size=600), st.sampled_from([b"", b"Date: Mon, 23 Nov 2026 09:14:05 +0000\n"]))
def test_hostile_bytes_give_a_record_none_or_a_reason(tail: bytes, date: bytes):
    raw = b"From: a1@marketplace.amazon.com\n" + date + tail
    try:
        parse_message(raw, source_id="fuzz:1")
    except MailParseError as exc:
        assert exc.source_id == "fuzz:1"
