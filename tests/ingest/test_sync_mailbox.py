"""Buyer messages from a real IMAP server into the store, incrementally, and into the checks."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from seller_health.config import MailboxSettings
from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_pack
from seller_health.ingest.sync import bookmark, sync_mailbox
from seller_health.store.models import Message
from tests.connectors.dovecot import dovecot  # noqa: F401  (fixture)
from tests.connectors.test_mailbox import mail
from tests.factory import Seller


def settings(server, folder: str) -> MailboxSettings:
    return MailboxSettings(
        kind="imap",
        host=server.host,
        port=server.imaps_port,
        username=server.username,
        password_env="UNUSED",
        folder=folder,
        ca_file=str(server.ca_file),
    )


def test_imap_messages_are_stored_once_and_counted_by_the_checks(engine, dovecot):  # noqa: F811
    folder = f"Amazon-{uuid.uuid4().hex[:8]}"  # the server outlives one backend's run
    question = mail(message_id="<q1@amazonses.com>", date="Mon, 23 Nov 2026 09:14:05 +0100")
    broken = mail(message_id="<q2@amazonses.com>", date="23/11/2026 09:14")
    dovecot.deliver(folder, question, broken)
    first = sync_mailbox(engine, "acme-uk", settings(dovecot, folder), dovecot.password)
    assert (first.fetched, first.stored, first.quarantined) == (2, 1, 1)
    assert bookmark(engine, "acme-uk", "messages").pending["last_uid"] >= 2

    dovecot.deliver(
        folder, mail(message_id="<q3@amazonses.com>", date="Mon, 23 Nov 2026 11:00:00 +0000")
    )
    second = sync_mailbox(engine, "acme-uk", settings(dovecot, folder), dovecot.password)
    assert (second.fetched, second.stored) == (1, 1)  # only the new mail was read
    with engine.connect() as conn:
        rows = conn.execute(
            select(Message.__table__.c.direction, Message.__table__.c.order_id)
        ).all()
    assert rows == [("in", "202-8374651-1928374")] * 2

    Seller("acme-uk", "amazon").save(engine)  # the account, as an import or an orders sync makes it
    as_of = datetime(2026, 11, 25, tzinfo=UTC)
    account = evaluate(engine, [builtin_pack("amazon")], as_of).accounts[0]
    response = next(r for r in account.results if r.rule == "amazon.response_within_24h")
    assert (response.numerator, response.denominator, response.status) == (0, 2, "breach")
    assert account.notes == ["1 messages record(s) from the marketplace could not be read"]
