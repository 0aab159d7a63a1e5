"""Buyer-Seller Messaging as a seller's mailbox sees it: Amazon's relay emails and reply copies.

SP-API cannot read buyer messages (research notes §5); Seller Central emails each one to the
"Buyer Messages" notification addresses, sent from the buyer's anonymised relay address
``<id>@marketplace.<the marketplace's Amazon domain>``, and a reply the seller emails to that
address counts as a reply. So the simulator writes what such a mailbox holds: each buyer message
as a relay notification (From the relay address, To the seller), and a copy of each reply (From
the seller's registered address, To the relay address, ``In-Reply-To``/``References`` naming the
buyer's message). The order id sits in the subject and near the top of the body; the wording of
subject and body is ours — the notes document the addresses, not Amazon's templates. Pre-order
questions carry no order id.

The drawing is seeded per account like the orders. Healthy sellers answer every message within
hours; troubled ones answer a good share after the 24 hours Amazon allows, or never. Written with
the standard library's email package only: never with the connector's parser (see
``seller_health.simulator``'s docstring for why).
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from seller_health.simulator.data import AccountData, SimOrder

#: Share of recent orders whose buyer writes, and of pre-order questions per order.
MESSAGE_RATE = 0.3
PRE_ORDER_RATE = 0.05
#: How far back messages are drawn: the 7/30/90-day response windows of the notes (§6).
HISTORY = timedelta(days=90)

_TOPICS = (
    ("Shipping inquiry", "Hello, when will my order ship? I need it by the weekend."),
    ("Delivery inquiry", "Hi, tracking has not moved for two days. Is the parcel lost?"),
    ("Return request inquiry", "The item does not fit. How do I return it?"),
    ("Product details inquiry", "Does this come with the charger, or is it sold separately?"),
    ("Order information inquiry", "Could you send me an invoice for this order, please?"),
)
_PRE_ORDER = (
    "Is this item compatible with the 2024 model?",
    "Do you ship to Alaska, and how long does it take?",
    "Is the colour in the photo accurate?",
)
_REPLIES = (
    "Thank you for your message. Your order ships today; tracking follows by email.",
    "Thanks for reaching out: we have checked with the carrier and will update you.",
    "Sorry for the trouble. We have sent you the return instructions.",
)


@dataclass(frozen=True)
class SimMessage:
    """One email of a buyer conversation: the buyer's relay notification or a reply copy."""

    account: str  # the seller's refresh token
    message_id: str  # the Message-ID value, with its angle brackets
    direction: str  # in (buyer → seller) | out (seller → buyer)
    sent_at: datetime
    relay: str  # the buyer's anonymised relay address
    seller: str  # the seller's notification (and reply) address
    buyer_name: str
    order_id: str | None
    subject: str
    body: str
    in_reply_to: str | None = None


def seller_address(data: AccountData) -> str:
    """The seller's registered address: a reserved ``.example`` domain, never a real one."""
    slug = data.account.refresh_token.split("|")[-1].lower()
    return f"service@{slug}.example"


def generate_messages(seed: int, data: AccountData, data_end: datetime) -> tuple[SimMessage, ...]:
    """The conversations of the last :data:`HISTORY`, cut at ``data_end`` (like the orders)."""
    rng = random.Random(f"{seed}:messages:{data.account.refresh_token}")
    troubled = data.account.in_trouble
    seller = seller_address(data)
    messages: list[SimMessage] = []
    for order in data.orders:
        if order.purchased_at < data_end - HISTORY:
            continue
        if rng.random() < PRE_ORDER_RATE:
            asked = order.purchased_at - timedelta(hours=rng.uniform(2, 72))
            question = rng.choice(_PRE_ORDER)
            messages += _conversation(rng, data, order, None, asked, question, troubled, seller)
        if rng.random() < MESSAGE_RATE:
            start = order.shipped_at or order.purchased_at
            asked = start + timedelta(hours=rng.uniform(1, 120))
            messages += _conversation(rng, data, order, order.order_id, asked, "", troubled, seller)
    kept = [m for m in messages if m.sent_at <= data_end]
    return tuple(sorted(kept, key=lambda m: (m.sent_at, m.message_id)))


def _conversation(
    rng: random.Random,
    data: AccountData,
    order: SimOrder,
    order_id: str | None,
    asked: datetime,
    question: str,
    troubled: bool,
    seller: str,
) -> list[SimMessage]:
    """A buyer message and, unless the seller never answers, the reply copy."""
    asked = asked.replace(microsecond=0)
    if order_id is None:
        subject = f"Product details inquiry from Amazon customer {order.buyer_name}"
        body = question
    else:
        topic, body = rng.choice(_TOPICS)
        subject = f"{topic} from Amazon customer {order.buyer_name} (Order: {order_id})"
    domain = data.market.email_domain
    token = _hex(data.account.refresh_token, order.order_id, order_id or "pre", asked)
    inbound = SimMessage(
        account=data.account.refresh_token,
        message_id=f"<{token}@relay.{domain}>",
        direction="in",
        sent_at=asked,
        relay=order.buyer_email,
        seller=seller,
        buyer_name=order.buyer_name,
        order_id=order_id,
        subject=subject,
        body=body,
    )
    draw = rng.random()
    if not troubled:
        delay = timedelta(hours=rng.uniform(0.3, 3.5) if draw < 0.9 else rng.uniform(4, 20))
    elif draw < 0.2:
        return [inbound]  # never answered
    elif draw < 0.45:
        delay = timedelta(hours=rng.uniform(26, 80))  # answered after Amazon's 24 hours
    else:
        delay = timedelta(hours=rng.uniform(2, 20))
    reply = SimMessage(
        account=inbound.account,
        message_id=f"<{_hex(token, 'reply')}@{seller.split('@')[1]}>",
        direction="out",
        sent_at=(asked + delay).replace(microsecond=0),
        relay=inbound.relay,
        seller=seller,
        buyer_name=order.buyer_name,
        order_id=order_id,
        subject=f"Re: {subject}",
        body=rng.choice(_REPLIES),
        in_reply_to=inbound.message_id,
    )
    return [inbound, reply]


def _hex(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:24]


def render_email(message: SimMessage, data: AccountData) -> bytes:
    """The raw RFC 5322 bytes of one message, as the seller's mailbox would store them."""
    mail = EmailMessage()
    market = data.market
    if message.direction == "in":
        mail["From"] = email.utils.formataddr(
            (f"{message.buyer_name} - {market.name} Marketplace", message.relay)
        )
        mail["To"] = message.seller
    else:
        mail["From"] = message.seller
        mail["To"] = email.utils.formataddr((message.buyer_name, message.relay))
    mail["Subject"] = message.subject
    mail["Date"] = email.utils.format_datetime(message.sent_at)  # "+0000": an explicit offset
    mail["Message-ID"] = message.message_id
    if message.in_reply_to is not None:
        mail["In-Reply-To"] = message.in_reply_to
        mail["References"] = message.in_reply_to
    lines = []
    if message.direction == "in":
        if message.order_id is not None:
            lines += [f"Order ID: {message.order_id}", ""]
        lines += [
            "------------- Message: -------------",
            "",
            message.body,
            "",
            "------------- End message -------------",
            "",
            f"You can reply to this message by replying to this email ({market.name}).",
        ]
    else:
        lines += [message.body, "", "Kind regards,", "Customer service"]
    mail.set_content("\n".join(lines) + "\n")
    return bytes(mail)


def write_maildir(messages: tuple[SimMessage, ...], data: AccountData, path: Path) -> list[Path]:
    """Deliver the messages into a Maildir at ``path`` (created), one file each in ``new/``.

    File names are the Maildir convention ``<seconds>.<unique>.<host>`` built from the send
    time and the Message-ID, so the same seed writes the same names and a second run replaces
    rather than duplicates. Each file is written in ``tmp/`` and renamed, as a delivery agent
    does, so a reader never sees half a message.
    """
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    written = []
    for message in messages:
        name = f"{int(message.sent_at.timestamp())}.{_hex(message.message_id)}.simulator"
        staged = path / "tmp" / name
        staged.write_bytes(render_email(message, data))
        target = path / "new" / name
        os.replace(staged, target)
        written.append(target)
    return written
