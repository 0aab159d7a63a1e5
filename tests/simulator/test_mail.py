"""The relay emails the simulator writes, checked against ``shared/research/amazon.md`` §5-6.

What the notes document: a buyer message reaches the seller's "Buyer Messages" address from the
buyer's anonymised relay address on ``marketplace.<the marketplace's Amazon domain>``; a reply is
an email from the seller's registered address to that relay address; Amazon order ids are
``3-7-7`` digits; the 24-hour clock counts weekends. Parsed with the standard library only, never
with the connector, so a shared misreading cannot hide.
"""

from __future__ import annotations

import email
import mailbox
import re
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime

from seller_health.simulator.app import Simulator
from seller_health.simulator.mail import render_email, seller_address
from tests.simulator.conftest import HEALTHY, TROUBLED, Clock, make_config

ORDER_ID = re.compile(r"\b\d{3}-\d{7}-\d{7}\b")
ROLE_MAILBOXES = {"donotreply", "do-not-reply", "no-reply", "noreply", "postmaster"}


def _sim() -> Simulator:
    return Simulator(make_config(Clock()))


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def _words(header: object) -> str:
    """A header's text with folding undone (a fold may fall anywhere, even before the text)."""
    return " ".join(str(header).split())


def _emails(sim: Simulator, account: str) -> list[tuple[object, EmailMessage]]:
    data = sim.account_data(account)
    return [(m, _parse(render_email(m, data))) for m in sim.messages_for(account)]


def test_buyer_messages_come_from_the_relay_address_of_the_marketplace():
    sim = _sim()
    for account in (HEALTHY, TROUBLED):
        domain = "marketplace." + sim.market(account).email_domain
        seller = seller_address(sim.account_data(account))
        buyers = {o.buyer_email for o in sim.orders_for(account)}
        inbound = [mail for m, mail in _emails(sim, account) if m.direction == "in"]
        assert len(inbound) >= 20
        for mail in inbound:
            _, sender = parseaddr(str(mail["From"]))
            local, _, host = sender.partition("@")
            assert host == domain and local not in ROLE_MAILBOXES and sender in buyers
            assert parseaddr(str(mail["To"]))[1] == seller


def test_replies_go_from_the_seller_to_the_relay_address_and_name_their_parent():
    sim = _sim()
    emails = _emails(sim, HEALTHY)
    by_id = {str(mail["Message-ID"]): mail for _, mail in emails}
    assert len(by_id) == len(emails)  # every Message-ID unique
    replies = [mail for m, mail in emails if m.direction == "out"]
    assert replies
    for reply in replies:
        parent = by_id[str(reply["In-Reply-To"])]
        assert str(reply["References"]).split()[-1] == str(reply["In-Reply-To"])
        assert parseaddr(str(reply["From"]))[1] == parseaddr(str(parent["To"]))[1]
        assert parseaddr(str(reply["To"]))[1] == parseaddr(str(parent["From"]))[1]
        assert _words(reply["Subject"]) == "Re: " + _words(parent["Subject"])
        assert parsedate_to_datetime(str(reply["Date"])) > parsedate_to_datetime(
            str(parent["Date"])
        )


def test_dates_carry_an_explicit_offset_and_never_pass_data_end():
    sim = _sim()
    for _, mail in _emails(sim, TROUBLED):
        assert not str(mail["Date"]).endswith("-0000")  # RFC 5322: "-0000" means unknown
        moment = parsedate_to_datetime(str(mail["Date"]))
        assert moment.tzinfo is not None and moment <= sim.data_end


def test_order_id_sits_in_the_subject_and_the_body_of_order_messages():
    sim = _sim()
    orders = {o.order_id for o in sim.orders_for(HEALTHY)}
    kinds = set()
    for message, mail in _emails(sim, HEALTHY):
        if message.direction != "in":
            continue
        in_subject = ORDER_ID.findall(str(mail["Subject"]))
        in_body = ORDER_ID.findall(mail.get_content())
        if message.order_id is None:  # a question asked before buying
            assert not in_subject and not in_body
            kinds.add("pre-order")
        else:
            assert in_subject == [message.order_id] and message.order_id in in_body
            assert message.order_id in orders
            kinds.add("order")
    assert kinds == {"pre-order", "order"}


def _within_24h_share(sim: Simulator, account: str, days: int = 30) -> float:
    messages = sim.messages_for(account)
    replies = {m.in_reply_to: m.sent_at for m in messages if m.direction == "out"}
    since = sim.data_end - timedelta(days=days)
    due = [
        m
        for m in messages
        if m.direction == "in"
        and m.sent_at >= since
        and (m.message_id in replies or m.sent_at <= sim.data_end - timedelta(hours=24))
    ]
    good = [m for m in due if replies.get(m.message_id, sim.data_end) - m.sent_at <= timedelta(1)]
    return len(good) / len(due)


def test_healthy_sellers_answer_within_24_hours_and_troubled_ones_do_not():
    sim = _sim()
    assert _within_24h_share(sim, HEALTHY) == 1.0
    assert _within_24h_share(sim, TROUBLED) < 0.9


def test_the_maildir_holds_every_message_once_with_stable_names(tmp_path):
    sim = _sim()
    first = sim.write_mailbox(HEALTHY, tmp_path / "box")
    again = sim.write_mailbox(HEALTHY, tmp_path / "box")  # a second delivery replaces
    assert first == again
    box = mailbox.Maildir(tmp_path / "box", create=False)
    ids = sorted(str(_parse(box.get_bytes(key))["Message-ID"]) for key in box.iterkeys())
    assert ids == sorted(m.message_id for m in sim.messages_for(HEALTHY))
    assert not list((tmp_path / "box" / "tmp").iterdir())  # nothing left half-delivered
    assert Simulator(make_config(Clock())).messages_for(HEALTHY) == sim.messages_for(HEALTHY)
