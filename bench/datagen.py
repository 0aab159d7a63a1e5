"""Synthetic seller data in the import format, for benchmarks, demos and end-to-end tests.

Real seller exports cannot be committed or shared, yet every rule pack needs data that exercises
it: defects, late and untracked shipments, cancellations by each party, refunds, returns with slow
answers, cases closed without the seller, surveys, messenger conversations with instant replies,
backlogs. This module writes such data to ``accounts.csv``, ``orders.csv``, ``messages.csv`` and
``events.csv`` (the import format, documented in the README), with a share of "troubled" accounts
whose behaviour degrades so that checks find breaches while healthy accounts mostly pass.

Design constraints and why:

* **Streaming, flat memory.** A benchmark run writes a million orders and a million messages; each
  order's shipments, events and conversations are derived and written as soon as the order is
  drawn, so memory does not grow with the data (no list of orders is ever kept).
* **Exact counts.** ``--orders 1000000`` means exactly that many rows, so benchmark sizes are
  comparable. Messages and events are spread over the orders with a running quota; rare
  "problem" records (defects, cases) are drawn at their natural rates and the quota is topped up
  with ordinary feedback, reviews, surveys and questions.
* **A snapshot taken at ``as_of``.** Nothing happens at or after ``as_of``: a shipment, delivery,
  refund, reply or resolution that would fall later is left empty and the order's status says what
  was true at ``as_of``. Promises (``ship_by``, ``deliver_by``) may lie in the future.
* **Deterministic.** One ``random.Random(seed)`` drives everything, consumed in a fixed order, so
  a seed always gives byte-identical files.
* **Format variety.** Timestamps use ``Z``, ``+00:00`` or the account's local offset (and
  milliseconds for some eBay-style exports); booleans are written ``true``/``TRUE``/``1``; names
  carry commas, quotes and accents; so that importers are exercised on everything the format allows.

Run ``python bench/datagen.py --help`` for the command line; ``--preset examples`` regenerates the
committed example data set under ``examples/data``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import sys
import time
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

DAY = 86_400
HOUR = 3_600
MINUTE = 60

MARKETPLACES = ("amazon", "ebay", "etsy", "walmart", "facebook", "other")

ACCOUNT_COLUMNS = ["account_id", "marketplace", "name", "email", "locale", "timezone"]
ORDER_COLUMNS = [
    "account_id",
    "order_id",
    "purchased_at",
    "status",
    "fulfillment",
    "ship_by",
    "shipped_at",
    "deliver_by",
    "delivered_at",
    "tracking_id",
    "tracking_valid",
    "cancelled_at",
    "cancelled_by",
    "refunded_at",
    "buyer_id",
    "total",
    "currency",
]
MESSAGE_COLUMNS = [
    "account_id",
    "message_id",
    "thread_id",
    "order_id",
    "sent_at",
    "direction",
    "needs_reply",
    "channel",
    "agent",
    "automated",
    "resolved_at",
]
EVENT_COLUMNS = [
    "account_id",
    "event_id",
    "order_id",
    "kind",
    "occurred_at",
    "rating",
    "survey",
    "status",
    "closed_without_seller_resolution",
    "responded_at",
]

# Kinds of trouble a degraded account can have. Each one is chosen so that at least one rule of
# the account's marketplace pack (or the service pack) breaches or warns.
TROUBLES = (
    "defects",  # negative feedback, A-to-z claims, chargebacks: Amazon ODR
    "late_shipment",  # late and overdue shipments, late deliveries: LSR, on-time delivery
    "cancellations",  # seller cancellations: Amazon/Walmart cancellation rate, eBay TDR
    "tracking",  # missing or unrecognised tracking numbers: valid tracking rate
    "slow_replies",  # slow, missing replies and unresolved threads: response rules, backlog
    "returns",  # many returns, answered slowly: Walmart return/refund rate, Amazon 48 h
    "bad_reviews",  # poor ratings and surveys: Etsy rating, negative feedback, NPS, CSAT
    "cases",  # INR/SNAD cases closed without the seller: eBay TDR and case rate
)

# Troubles that visibly hurt each marketplace's own rules (used for randomly troubled accounts).
TROUBLE_MENU: dict[str, tuple[str, ...]] = {
    "amazon": ("defects", "late_shipment", "cancellations", "tracking", "slow_replies"),
    "ebay": ("cancellations", "cases", "late_shipment"),
    "etsy": ("slow_replies", "late_shipment", "bad_reviews"),
    "walmart": ("late_shipment", "tracking", "cancellations", "returns", "slow_replies"),
    "facebook": ("slow_replies", "bad_reviews"),
    "other": ("slow_replies", "bad_reviews", "returns"),
}


# --------------------------------------------------------------------------------------------
# Regions, names, identifiers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """Where a shop sells: its currency, zones, report languages and carriers."""

    code: str
    currency: str
    zones: tuple[str, ...]
    locales: tuple[str, ...]
    price_scale: float  # local currency units per USD, for realistic totals
    amazon_prefix: str  # first block of Amazon order ids in this marketplace
    carriers: tuple[str, ...]  # tracking-number formats, see _tracking_id
    transit_days: int  # promised transit after the ship-by date


REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region(
            "US",
            "USD",
            ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
            ("en", "en", "en", "en", "es"),
            1.0,
            "114",
            ("ups", "usps", "fedex"),
            4,
        ),
        Region(
            "CA",
            "CAD",
            ("America/Toronto", "America/Vancouver"),
            ("en",),
            1.37,
            "702",
            ("canadapost", "ups"),
            5,
        ),
        Region("MX", "MXN", ("America/Mexico_City",), ("es",), 18.5, "701", ("estafeta", "dhl"), 5),
        Region("BR", "BRL", ("America/Sao_Paulo",), ("pt-BR",), 5.4, "703", ("correios",), 6),
        Region("UK", "GBP", ("Europe/London",), ("en",), 0.79, "202", ("royalmail", "dpd"), 3),
        Region("DE", "EUR", ("Europe/Berlin",), ("en",), 0.92, "302", ("dhl", "hermes"), 3),
        Region("IT", "EUR", ("Europe/Rome",), ("it", "it", "en"), 0.92, "403", ("poste", "brt"), 4),
        Region(
            "ES", "EUR", ("Europe/Madrid",), ("es", "es", "en"), 0.92, "406", ("correos", "seur"), 4
        ),
        Region(
            "AU",
            "AUD",
            ("Australia/Sydney", "Australia/Perth"),
            ("en",),
            1.52,
            "250",
            ("auspost",),
            5,
        ),
    )
}

_POSTAL_COUNTRY = {
    "royalmail": "GB",
    "poste": "IT",
    "correos": "ES",
    "correios": "BR",
    "auspost": "AU",
}

# Which regions each marketplace's sellers come from, with weights.
MARKET_REGIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "amazon": (
        ("US", 40),
        ("UK", 12),
        ("DE", 12),
        ("IT", 7),
        ("ES", 7),
        ("CA", 8),
        ("MX", 6),
        ("BR", 4),
        ("AU", 4),
    ),
    "ebay": (("US", 50), ("UK", 20), ("DE", 12), ("IT", 6), ("AU", 8), ("CA", 4)),
    "etsy": (("US", 55), ("UK", 15), ("CA", 8), ("AU", 7), ("DE", 7), ("IT", 8)),
    "walmart": (("US", 85), ("CA", 10), ("MX", 5)),
    "facebook": (("US", 40), ("BR", 20), ("MX", 15), ("ES", 10), ("IT", 10), ("UK", 5)),
    "other": (("US", 40), ("UK", 10), ("DE", 10), ("ES", 10), ("IT", 10), ("MX", 10), ("BR", 10)),
}
MARKET_WEIGHTS = (
    ("amazon", 35),
    ("ebay", 18),
    ("etsy", 15),
    ("walmart", 10),
    ("facebook", 10),
    ("other", 12),
)

_ADJECTIVES = (
    "Blue",
    "Golden",
    "Quiet",
    "Northern",
    "Copper",
    "Little",
    "Wild",
    "Bright",
    "Maple",
    "Silver",
    "Urban",
    "Coastal",
    "Rustic",
    "Lucky",
    "Prairie",
    "Cedar",
)
_NOUNS = (
    "Harbor",
    "Fox",
    "Pine",
    "Lantern",
    "Anchor",
    "Meadow",
    "Otter",
    "Forge",
    "Garden",
    "Summit",
    "Thread",
    "Kettle",
    "Compass",
    "Willow",
    "Bison",
    "Pebble",
)
_SUFFIXES = ("Goods", "Supply", "Co.", "Outfitters", "Trading", "Store", "Home", "Works")
_LOCAL_NAMES = {
    "es": ("Tienda {n}", "Casa {n}", "El Rincón de {n}", "{n} & Hijos, S.L."),
    "it": ("Bottega {n}", "L'Atelier di {n}", "Ceramiche {n}", "{n} & Figli"),
    "pt-BR": ("Loja {n}", "Casa {n}", "Ateliê {n}", "{n} Presentes, Ltda."),
}
_LOCAL_WORDS = (
    "Sol",
    "Luna",
    "Oliva",
    "Mar",
    "Brisa",
    "Aurora",
    "Lume",
    "Rosa",
    "Ñandú",
    "Gioia",
    "Vento",
    "Flor",
)
_AGENT_NAMES = {
    "en": (
        "alex",
        "sam",
        "jordan",
        "taylor",
        "morgan",
        "casey",
        "jamie",
        "riley",
        "chris",
        "pat",
        "drew",
        "robin",
    ),
    "es": ("lucia", "mateo", "sofia", "diego", "valeria", "javier", "carmen", "pablo"),
    "it": ("giulia", "marco", "chiara", "luca", "francesca", "matteo", "elena", "paolo"),
    "pt-BR": ("ana", "joao", "beatriz", "lucas", "mariana", "rafael", "camila", "thiago"),
}

_M64 = 0x9E3779B97F4A7C15  # odd: multiplication modulo 2**64 is a bijection
# Multipliers coprime with 10 (odd, not ending in 5): bijections modulo powers of ten.
_MULT_A = 73_856_093_192_463
_MULT_B = 387_420_489_017
_MULT_C = 772_531_891


def _scramble(seq: int, salt: int, modulus: int, mult: int) -> int:
    """Map a sequence number to a random-looking id, bijectively below ``modulus``.

    ``mult`` is coprime with the modulus, so distinct sequence numbers give distinct ids: ids
    look like a marketplace's without keeping a set of the ones already used.
    """
    return (seq * mult + salt) % modulus


def _slug(text: str) -> str:
    out = []
    for ch in text.lower():
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-") or "shop"


# --------------------------------------------------------------------------------------------
# Behaviour profiles
# --------------------------------------------------------------------------------------------


def _cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    total = float(sum(weights))
    acc, out = 0.0, []
    for w in weights:
        acc += w
        out.append(acc / total)
    out[-1] = 1.0
    return tuple(out)


@dataclass(slots=True)
class Behaviour:
    """Per-order and per-message probabilities of one account in one state (healthy or troubled).

    Healthy defaults sit comfortably inside every marketplace target (Amazon ODR ~0.3%, late
    shipment ~0.5%, 24 h replies ~98.5%); trouble overrides push the relevant rates over them.
    A small healthy account can still breach by chance (one defect among 60 orders is 1.7%),
    exactly as on the marketplaces themselves.
    """

    cancel_buyer: float = 0.012
    cancel_seller: float = 0.0015
    cancel_marketplace: float = 0.0008
    late_ship: float = 0.004  # shipped after ship_by
    overdue: float = 0.0005  # shipped days late (or not yet at as_of)
    no_tracking: float = 0.003
    bad_tracking: float = 0.002  # tracking_valid false
    unknown_tracking: float = 0.001  # tracking_valid empty
    late_delivery: float = 0.006
    lost: float = 0.001
    neg_feedback: float = 0.0016  # 1-2 star seller feedback, per order
    a_to_z: float = 0.0006
    chargeback: float = 0.0003
    return_request: float = 0.03
    slow_return: float = 0.01  # return answered after 48 h (or not at all)
    inr_case: float = 0.003
    snad_case: float = 0.002
    closed_without_seller: float = 0.25  # share of closed INR/SNAD cases
    unanswered: float = 0.005  # inbound message never answered
    slow_reply: float = 0.01  # answered after 24 h
    reply_median: float = 50 * MINUTE
    night_shift: float = 0.6  # replies that wait for the morning when sent at night
    resolve: float = 0.96  # answered threads marked resolved
    survey_after_thread: float = 0.35  # resolved threads followed by a CSAT/CES/NPS survey
    review_cum: tuple[float, ...] = _cumulative((2, 2, 5, 16, 75))  # 1..5 stars
    feedback_cum: tuple[float, ...] = _cumulative((0, 0, 4, 14, 82))  # positive feedback
    nps_cum: tuple[float, ...] = _cumulative((1, 0.5, 0.5, 0.5, 1, 2, 3.5, 10, 14, 24, 43))  # 0..10
    csat_cum: tuple[float, ...] = _cumulative((1, 1, 3, 25, 70))  # 1..5
    ces_cum: tuple[float, ...] = _cumulative((2, 3, 5, 10, 20, 30, 30))  # 1..7


def _healthy(marketplace: str) -> Behaviour:
    """Healthy behaviour, tightened where a marketplace's target is strict."""
    b = Behaviour()
    if marketplace == "walmart":  # valid tracking must stay >= 99%
        b.no_tracking, b.bad_tracking, b.unknown_tracking = 0.0015, 0.001, 0.0
    if marketplace == "etsy":  # Star Seller needs a 4.8 average review
        b.review_cum = _cumulative((0.2, 0.2, 0.6, 3.0, 96))
    if marketplace == "facebook":  # "very responsive" needs a 15-minute median
        b.reply_median, b.unanswered, b.slow_reply, b.night_shift = 4 * MINUTE, 0.03, 0.01, 0.2
    if marketplace == "other":  # chat and phone channels answer quickly
        b.reply_median = 40 * MINUTE
    return b


def _troubled(base: Behaviour, troubles: Sequence[str]) -> Behaviour:
    """Degrade a healthy profile for each named trouble."""
    b = replace(base)
    for t in troubles:
        if t == "defects":
            # Feedback and claims arrive weeks after the order, so the last weeks of the 60-day
            # window are still clean at as_of: the nominal rates are higher than the ODR seen.
            b.neg_feedback, b.a_to_z, b.chargeback = 0.025, 0.01, 0.003
        elif t == "late_shipment":
            b.late_ship, b.overdue, b.late_delivery, b.lost = 0.085, 0.012, 0.18, 0.008
        elif t == "cancellations":
            b.cancel_seller, b.cancel_marketplace = 0.045, 0.006
        elif t == "tracking":
            b.no_tracking, b.bad_tracking, b.unknown_tracking = 0.06, 0.045, 0.015
        elif t == "slow_replies":
            b.unanswered, b.slow_reply, b.resolve = 0.2, 0.2, 0.5
            b.reply_median, b.night_shift = 9 * HOUR, 0.9
        elif t == "returns":
            b.return_request, b.slow_return = 0.11, 0.35
        elif t == "bad_reviews":
            b.neg_feedback = max(b.neg_feedback, 0.01)
            b.review_cum = _cumulative((14, 10, 16, 22, 38))
            b.feedback_cum = _cumulative((0, 0, 20, 30, 50))
            b.nps_cum = _cumulative((8, 5, 6, 6, 7, 9, 10, 12, 12, 11, 14))
            b.csat_cum = _cumulative((15, 15, 20, 25, 25))
            b.ces_cum = _cumulative((15, 15, 15, 15, 15, 15, 10))
        elif t == "cases":
            b.inr_case, b.snad_case, b.closed_without_seller = 0.012, 0.008, 0.5
        else:
            raise ValueError(f"unknown trouble {t!r}; known: {', '.join(TROUBLES)}")
    return b


# --------------------------------------------------------------------------------------------
# Accounts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountSpec:
    """One seller account to generate. Unset behaviour knobs are drawn from the seed.

    ``weight`` sets the account's share of the orders; ``chat_factor`` scales its share of the
    messages (Facebook and helpdesk shops talk more per order). ``timezone`` is what accounts.csv
    says (empty: the column is left blank and the reader assumes UTC); ``zone`` is where the shop
    actually works, which shapes order and reply hours whatever the file says.
    """

    account_id: str
    marketplace: str
    region: str
    name: str
    email: str = ""
    locale: str = "en"
    timezone: str = ""
    zone: str = ""
    weight: float = 1.0
    troubles: tuple[str, ...] = ()
    trouble_days: int = 150  # troubles began this many days before as_of
    history_days: int = 395  # earliest orders this many days before as_of
    fba_share: float | None = None
    chat_factor: float | None = None
    offset_style: str | None = None  # "Z", "+00:00", "local", "Zms"
    bool_style: str | None = None  # "true", "TRUE", "1"
    growth: float | None = None  # order volume trend over the history (-0.5 .. 2)
    agents: tuple[str, ...] | None = None  # who answers; () for a shop that records no agent


def _pick(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def random_accounts(rng: random.Random, count: int, trouble_share: float) -> list[AccountSpec]:
    """Draw ``count`` accounts; the first six cover every marketplace so small sets test all."""
    troubled = set(rng.sample(range(count), round(max(0.0, min(1.0, trouble_share)) * count)))
    specs: list[AccountSpec] = []
    for i in range(count):
        market = MARKETPLACES[i] if i < len(MARKETPLACES) else _pick(rng, MARKET_WEIGHTS)
        region = REGIONS[_pick(rng, MARKET_REGIONS[market])]
        locale = rng.choice(region.locales)
        if locale in _LOCAL_NAMES and rng.random() < 0.8:
            name = rng.choice(_LOCAL_NAMES[locale]).format(n=rng.choice(_LOCAL_WORDS))
        else:
            name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.choice(_SUFFIXES)}"
            if rng.random() < 0.05:
                name = f'{rng.choice(_NOUNS)}, {rng.choice(_NOUNS)} & "Sons"'
        slug = _slug(name)
        account_id = f"{slug}-{region.code.lower()}-{i:04d}"
        roll = rng.random()
        if roll < 0.08:
            email = ""
        elif roll < 0.25:
            email = f"ops@{slug}.example.com, owner@{slug}.example.com"
        else:
            email = f"{rng.choice(('ops', 'hello', 'seller', 'support'))}@{slug}.example.com"
        zone = rng.choice(region.zones)
        troubles: tuple[str, ...] = ()
        weight = rng.lognormvariate(0.0, 1.0)
        fba_share: float | None = None
        if i in troubled:
            menu = TROUBLE_MENU[market]
            troubles = tuple(rng.sample(menu, min(len(menu), rng.choice((1, 1, 2, 2, 3)))))
            # A trouble must be visible: not drowned in a tiny sample, and shipping troubles
            # not hidden behind marketplace fulfilment (FBA/WFS orders are the marketplace's).
            weight = max(weight, 1.0 + rng.random())
            if market in ("amazon", "walmart"):
                fba_share = rng.uniform(0.0, 0.25)
        specs.append(
            AccountSpec(
                account_id=account_id,
                marketplace=market,
                region=region.code,
                name=name,
                email=email,
                locale="" if rng.random() < 0.05 else locale,
                timezone="" if rng.random() < 0.05 else zone,
                zone=zone,
                weight=weight,
                troubles=troubles,
                fba_share=fba_share,
                # eBay looks back 12 months for smaller sellers: its troubles must last longer.
                trouble_days=rng.randint(200, 330) if market == "ebay" else rng.randint(75, 240),
                history_days=395 if rng.random() < 0.85 else rng.randint(45, 380),
            )
        )
    return specs


# --------------------------------------------------------------------------------------------
# Timestamp formatting
# --------------------------------------------------------------------------------------------

_TIMES: list[str] = []
_DAY_PREFIX: dict[int, str] = {}
_UNIX_ORDINAL = date(1970, 1, 1).toordinal()


def _times() -> list[str]:
    """All 86,400 ``HH:MM:SS`` strings: formatting by lookup keeps a million rows fast."""
    if not _TIMES:
        _TIMES.extend(f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in range(DAY))
    return _TIMES


def _zone_offsets(zone: str, first_day: int, days: int) -> list[int]:
    """UTC offset in seconds at noon UTC of each day: enough to label instants exactly.

    The label (local time + offset) is computed from the same offset, so the instant is exact
    even on a DST change day; only which of two valid labels is chosen may differ.
    """
    tz = ZoneInfo(zone)
    out = []
    for d in range(first_day, first_day + days):
        off = datetime.fromtimestamp(d * DAY + 12 * HOUR, tz).utcoffset()
        out.append(int(off.total_seconds()) if off is not None else 0)
    return out


def _offset_label(off: int, style: str) -> str:
    if style in ("Z", "Zms"):
        return ".000Z" if style == "Zms" else "Z"
    sign = "+" if off >= 0 else "-"
    a = abs(off)
    return f"{sign}{a // 3600:02d}:{a % 3600 // 60:02d}"


def _formatter(real_offsets: list[int], first_day: int, style: str) -> Callable[[int], str]:
    """A function formatting epoch seconds as ISO 8601 in the account's chosen style."""
    times = _times()
    prefixes = _DAY_PREFIX
    last = len(real_offsets) - 1
    offsets = real_offsets if style == "local" else [0] * len(real_offsets)
    labels = {off: _offset_label(off, style) for off in set(offsets)}

    def fmt(ts: int) -> str:
        i = ts // DAY - first_day
        off = offsets[0 if i < 0 else (last if i > last else i)]
        loc = ts + off
        d = loc // DAY
        p = prefixes.get(d)
        if p is None:
            p = date.fromordinal(d + _UNIX_ORDINAL).isoformat() + "T"
            prefixes[d] = p
        return p + times[loc - d * DAY] + labels[off]

    return fmt


def parse_as_of(value: str | datetime) -> int:
    """``as_of`` as epoch seconds; an instant without an offset is refused, as in the format."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"as_of {value!r} has no UTC offset (add Z or +hh:mm)")
    return int(moment.astimezone(UTC).timestamp())


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    if not weights:
        return []
    s = float(sum(weights)) or 1.0
    raw = [total * w / s for w in weights]
    out = [int(r) for r in raw]
    rest = total - sum(out)
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[:rest]:
        out[i] += 1
    return out


@dataclass
class Summary:
    """What was written, for the CLI report and for tests of the generator."""

    out_dir: str
    as_of: str
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    accounts: list[dict[str, Any]] = field(default_factory=list)


class _Writers:
    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.files: list[TextIO] = []

        def open_csv(name: str, header: list[str]) -> Any:
            f = open(out / name, "w", newline="", encoding="utf-8")  # noqa: SIM115
            self.files.append(f)
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            return w

        self.accounts = open_csv("accounts.csv", ACCOUNT_COLUMNS)
        self.orders = open_csv("orders.csv", ORDER_COLUMNS)
        self.messages = open_csv("messages.csv", MESSAGE_COLUMNS)
        self.events = open_csv("events.csv", EVENT_COLUMNS)

    def close(self) -> None:
        for f in self.files:
            f.close()


# Local hour-of-day weights for purchases: quiet nights, an evening peak.
_PURCHASE_HOUR_CUM = _cumulative(
    (2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 7, 7, 7, 7, 7, 7, 8, 9, 10, 9, 7, 4)
)


class _AccountGen:
    """Generates one account's rows; holds only per-account state (counters, profiles)."""

    def __init__(
        self,
        spec: AccountSpec,
        rng: random.Random,
        as_of: int,
        n_orders: int,
        n_messages: int,
        n_events: int,
        w: _Writers,
    ) -> None:
        self.spec = spec
        self.rng = rng
        self.rand = rng.random
        self.as_of = as_of
        self.n_orders, self.n_messages, self.n_events = n_orders, n_messages, n_events
        self.w = w
        self.market = spec.marketplace
        self.region = REGIONS[spec.region]
        self.acct = spec.account_id
        zone = spec.zone or spec.timezone or self.region.zones[0]
        self.first_day = as_of // DAY - spec.history_days - 30
        ndays = spec.history_days + 120
        self.offsets = _zone_offsets(zone, self.first_day, ndays)
        self.last_off = len(self.offsets) - 1
        style = spec.offset_style or _pick(
            rng,
            (
                ("local", 5),
                ("Z", 3.5 if self.market != "ebay" else 1.5),
                ("+00:00", 1.5),
                ("Zms", 2 if self.market == "ebay" else 0),
            ),
        )
        self.fmt = _formatter(self.offsets, self.first_day, style)
        bstyle = spec.bool_style or _pick(rng, (("true", 7), ("TRUE", 1.5), ("1", 1.5)))
        self.T, self.F = {"true": ("true", "false"), "TRUE": ("TRUE", "FALSE"), "1": ("1", "0")}[
            bstyle
        ]
        self.start = as_of - spec.history_days * DAY
        self.trouble_since = as_of - spec.trouble_days * DAY if spec.troubles else as_of + DAY
        self.good = _healthy(self.market)
        self.bad = _troubled(self.good, spec.troubles)
        # The last holiday season (from 20 November) that ended before as_of.
        as_of_date = date.fromordinal(as_of // DAY + _UNIX_ORDINAL)
        peak = date(as_of_date.year, 11, 20)
        if (as_of_date - peak).days < 35:
            peak = date(as_of_date.year - 1, 11, 20)
        self.peak_day = peak.toordinal() - _UNIX_ORDINAL
        self.growth = spec.growth if spec.growth is not None else rng.uniform(-0.4, 1.6)
        if spec.fba_share is not None:
            self.fba = spec.fba_share
        elif self.market == "amazon":
            self.fba = 0.0 if rng.random() < 0.3 else rng.uniform(0.1, 0.8)
        elif self.market == "walmart":
            self.fba = 0.0 if rng.random() < 0.6 else rng.uniform(0.05, 0.4)
        else:
            self.fba = 0.0
        # Ordinary events: seller feedback where the marketplace has it, product reviews,
        # surveys (the rest).
        self.fb_share = {"amazon": 0.45, "ebay": 0.7, "walmart": 0.15}.get(self.market, 0.0)
        self.rv_share = {
            "amazon": 0.25,
            "ebay": 0.0,
            "walmart": 0.55,
            "etsy": 0.75,
            "facebook": 0.55,
            "other": 0.35,
        }[self.market]
        self.handling = rng.choice((1, 2, 2) if self.market == "amazon" else (1, 2, 3))
        self.transit = self.region.transit_days
        self.repeat = rng.uniform(0.12, 0.4)
        self.price_mu = math.log(rng.uniform(14, 80) * self.region.price_scale)
        self.autoresponder = rng.random() < (0.7 if self.market == "facebook" else 0.25)
        self.auto_agent = "auto-reply" if rng.random() < 0.3 else ""
        # Agents: busier shops have more; solo shops leave the column empty.
        locale = spec.locale or "en"
        names = _AGENT_NAMES.get(locale, _AGENT_NAMES["en"])
        if spec.agents is not None:
            self.agents: list[str] = list(spec.agents) or [""]
        elif rng.random() < 0.15:
            self.agents = [""]
        else:
            k = max(1, min(len(names), 1 + n_messages // 2500 + rng.randint(0, 2)))
            first_email = spec.email.split(",")[0].strip()
            domain = first_email.partition("@")[2] or f"{_slug(spec.name)}.example.com"
            pool = rng.sample(names, k)
            self.agents = [a if rng.random() < 0.6 else f"{a}@{domain}" for a in pool]
        self.agent_cum = _cumulative([1.0 / (j + 1) for j in range(len(self.agents))])
        self.salt = rng.getrandbits(64)
        self.buyer_salt = rng.getrandbits(64)
        self.next_buyer = 0
        self.msg_seq = 0
        self.thread_seq = 0
        self.event_seq = 0
        self.msg_used = 0
        self.ev_used = 0

    # -- identifiers ------------------------------------------------------------------------

    def order_id(self, seq: int) -> str:
        m = self.market
        if m == "amazon":
            n = _scramble(seq, self.salt, 10**14, _MULT_A)
            return f"{self.region.amazon_prefix}-{n // 10**7:07d}-{n % 10**7:07d}"
        if m == "ebay":
            n = _scramble(seq, self.salt, 10**12, _MULT_B)
            return f"{n // 10**10:02d}-{n // 10**5 % 10**5:05d}-{n % 10**5:05d}"
        if m == "etsy":
            return str(3_000_000_000 + _scramble(seq, self.salt, 10**9, _MULT_C))
        if m == "walmart":
            return str(108_000_000_000_000 + _scramble(seq, self.salt, 10**12, _MULT_B))
        if m == "facebook":
            return str(5_000_000_000_000_000 + _scramble(seq, self.salt, 10**15, _MULT_A))
        return f"#{1001 + seq}"

    def buyer(self) -> str:
        """A buyer id; a share of orders come from earlier buyers (skewed to loyal ones)."""
        if self.next_buyer and self.rand() < self.repeat:
            idx = int(self.next_buyer * self.rand() ** 2)
        else:
            idx = self.next_buyer
            self.next_buyer += 1
        return f"{(idx * _M64 + self.buyer_salt) & 0xFFFFFFFFFFFFFFFF:016x}"

    def tracking_id(self) -> str:
        rand = self.rand  # int(rand() * n) rather than randrange: several times faster
        carriers = self.region.carriers
        c = carriers[int(rand() * len(carriers))]
        n = int(rand() * 10**9)
        if c == "ups":
            return f"1Z{int(rand() * 36**6):06X}{int(rand() * 10**10):010d}"[:18]
        if c == "usps":
            return f"9400{int(rand() * 10**9):09d}{n:09d}"
        if c in ("fedex", "dhl", "hermes", "dpd", "brt", "seur", "estafeta", "canadapost"):
            return f"{int(rand() * 1000):03d}{n:09d}"
        country = _POSTAL_COUNTRY.get(c, "XX")
        return f"{'ALRCEPQ'[int(rand() * 7)]}{'ABCDEFGHJKLM'[int(rand() * 12)]}{n:09d}{country}"

    def agent(self) -> str:
        return (
            self.agents[bisect(self.agent_cum, self.rand())]
            if len(self.agents) > 1
            else self.agents[0]
        )

    # -- time helpers -----------------------------------------------------------------------

    def off(self, ts: int) -> int:
        i = ts // DAY - self.first_day
        return self.offsets[0 if i < 0 else (self.last_off if i > self.last_off else i)]

    def end_of_local_day(self, ts: int, plus_days: int) -> int:
        """23:59:59 local on the day ``plus_days`` after ``ts``'s local day: how promises read."""
        o = self.off(ts)
        return ((ts + o) // DAY + plus_days + 1) * DAY - 1 - o

    def purchase_time(self) -> int:
        """Trend over the history, a holiday peak, and local shopping hours."""
        rand = self.rand
        span = (self.as_of - self.start) // DAY
        g = self.growth
        u = rand()
        x = u if abs(g) < 1e-6 else (math.sqrt(1 + 2 * g * u * (1 + g / 2)) - 1) / g
        day = int(x * span)
        if rand() < 0.1:  # late-November to Christmas peak, if inside the history
            d = self.peak_day - self.start // DAY + int(rand() * 32)
            if 0 <= d < span:
                day = d
        base = self.start // DAY * DAY + day * DAY
        local = bisect(_PURCHASE_HOUR_CUM, rand()) * HOUR + int(rand() * HOUR)
        ts = base + local - self.off(base)
        if ts >= self.as_of:
            ts = self.as_of - 1 - int(rand() * 6 * HOUR)
        if ts < self.start:
            ts = self.start + int(rand() * DAY)
        return ts

    # -- orders -----------------------------------------------------------------------------

    def run(self) -> None:
        n = self.n_orders
        for k in range(n):
            self.one_order(k)
        # Quotas not yet met (threads or events that would have fallen after as_of): spend them
        # on pre-sale questions and surveys spread over the history.
        while self.msg_used < self.n_messages:
            t = self.start + int(self.rand() * (self.as_of - HOUR - self.start))
            self.thread(t, "", self.new_thread_id(), self.n_messages - self.msg_used)
        while self.ev_used < self.n_events:
            t = self.start + int(self.rand() * (self.as_of - HOUR - self.start))
            self.survey(t, "", self.good if t < self.trouble_since else self.bad)

    def one_order(self, k: int) -> None:  # noqa: C901 - one order's life story, kept together
        rand, as_of, fmt = self.rand, self.as_of, self.fmt
        pt = self.purchase_time()
        prof = self.bad if pt >= self.trouble_since else self.good
        merchant = self.fba == 0.0 or rand() >= self.fba
        oid = self.order_id(k)
        buyer = "" if rand() < 0.015 else self.buyer()
        total = round(self.rng.lognormvariate(self.price_mu, 0.7), 2)
        charged_at_purchase = self.market in ("ebay", "etsy", "facebook", "other")

        ship_by = self.end_of_local_day(pt, self.handling if merchant else 1)
        deliver_by = self.end_of_local_day(ship_by, self.transit if merchant else 2)

        # Cancellation (decided first: a cancelled order never ships).
        cancelled_at = 0
        cancelled_by = ""
        u = rand()
        if u < prof.cancel_buyer:
            cancelled_by, cancelled_at = "buyer", pt + 300 + int(rand() * 8 * HOUR)
        elif u < prof.cancel_buyer + prof.cancel_seller:
            cancelled_by = "seller"
            cancelled_at = pt + HOUR + int(rand() * max(HOUR, ship_by - pt - HOUR))
        elif u < prof.cancel_buyer + prof.cancel_seller + prof.cancel_marketplace:
            cancelled_by = "marketplace"
            if rand() < 0.5:  # payment or fraud check
                cancelled_at = pt + 60 + int(rand() * HOUR)
            else:  # never shipped: the marketplace cancels after the ship-by date
                cancelled_at = ship_by + HOUR + int(rand() * 2 * DAY)

        shipped_at = delivered_at = refunded_at = 0
        tracking = ""
        tracking_valid = ""
        late_ship = lost = late_delivery = False
        if not cancelled_by:
            if merchant:
                u = rand()
                if u < prof.overdue:
                    shipped_at = ship_by + 3 * DAY + int(rand() * 9 * DAY)
                    late_ship = True
                elif u < prof.overdue + prof.late_ship:
                    shipped_at = ship_by + 30 * MINUTE + int(rand() * 60 * HOUR)
                    late_ship = True
                else:
                    window = max(HOUR, ship_by - pt - 30 * MINUTE)
                    shipped_at = pt + 20 * MINUTE + int(window * rand() ** 1.5)
                u = rand()
                if u < prof.no_tracking:
                    pass
                elif u < prof.no_tracking + prof.bad_tracking:
                    tracking = (
                        self.tracking_id()
                        if rand() < 0.7
                        else self.rng.choice(("N/A", "123", "TBD", "0000000000"))
                    )
                    tracking_valid = self.F
                elif u < prof.no_tracking + prof.bad_tracking + prof.unknown_tracking:
                    tracking = self.tracking_id()
                else:
                    tracking, tracking_valid = self.tracking_id(), self.T
            else:
                shipped_at = min(ship_by - MINUTE, pt + 2 * HOUR + int(rand() * 24 * HOUR))
                tracking = (
                    f"TBA{self.rng.randrange(10**12):012d}"
                    if self.market == "amazon"
                    else self.tracking_id()
                )
                tracking_valid = self.T
            if tracking_valid == self.T or (tracking and not tracking_valid):
                # Only a scanned parcel has a carrier-confirmed delivery.
                room = deliver_by - HOUR - shipped_at - 18 * HOUR
                u = rand()
                if u < prof.lost:
                    lost = True
                elif u < prof.lost + prof.late_delivery or room <= 0:
                    late_delivery = True
                    delivered_at = (
                        max(deliver_by, shipped_at + DAY) + 3 * HOUR + int(rand() * 4 * DAY)
                    )
                else:
                    delivered_at = shipped_at + 18 * HOUR + int(room * rand() ** 1.3)
            if shipped_at >= as_of:  # not shipped yet at as_of
                shipped_at = delivered_at = 0
                tracking, tracking_valid = "", ""
                lost = late_delivery = False
            if delivered_at >= as_of:
                delivered_at = 0
        else:
            if cancelled_at >= as_of:  # not cancelled yet at as_of: still waiting to ship
                cancelled_at, cancelled_by = 0, ""
            elif charged_at_purchase and cancelled_by != "marketplace":
                refunded_at = cancelled_at + 60 + int(rand() * 2 * HOUR)

        # Events: claims, returns, cases and feedback; they may also refund the order.
        after = delivered_at or (deliver_by if shipped_at else 0)
        refunded_at = self.order_events(
            oid,
            pt,
            prof,
            cancelled_by,
            after,
            delivered_at,
            lost,
            late_delivery or late_ship,
            refunded_at,
            k,
        )

        if refunded_at >= as_of:
            refunded_at = 0
        if cancelled_at:
            status = "cancelled"
        elif delivered_at:
            status = "delivered"
        elif shipped_at:
            status = "shipped"
        elif as_of - pt < 2 * HOUR and rand() < 0.6:
            status = "pending"
        else:
            status = "unshipped"
        self.w.orders.writerow(
            (
                self.acct,
                oid,
                fmt(pt),
                status,
                "merchant" if merchant else "marketplace",
                fmt(ship_by),
                fmt(shipped_at) if shipped_at else "",
                fmt(deliver_by),
                fmt(delivered_at) if delivered_at else "",
                tracking,
                tracking_valid,
                fmt(cancelled_at) if cancelled_at else "",
                cancelled_by,
                fmt(refunded_at) if refunded_at else "",
                buyer,
                "" if rand() < 0.002 else f"{total:.2f}",
                self.region.currency,
            )
        )

        # Conversations: problem orders usually get one; the message quota is then topped up.
        target = self.n_messages * (k + 1) // max(1, self.n_orders)
        if (lost or late_delivery) and self.msg_used < self.n_messages and rand() < 0.6:
            t = (deliver_by if lost else max(pt, deliver_by - DAY)) + int(rand() * 2 * DAY)
            if t < as_of:
                self.thread(t, oid, self.order_thread_id(buyer), self.n_messages - self.msg_used)
        guard = 0
        while self.msg_used < target and guard < 6:
            guard += 1
            u = rand()
            if u < 0.62:
                t = pt + int(self.rng.lognormvariate(math.log(20 * HOUR), 1.3))
                tid, o = self.order_thread_id(buyer), oid
            elif u < 0.92:
                t = pt - int(self.rng.lognormvariate(math.log(6 * HOUR), 1.2)) - MINUTE
                tid, o = self.new_thread_id(), ""
            else:  # marketplace notice or buyer note that needs no reply
                t = pt + int(rand() * 5 * DAY)
                if t < as_of:
                    self.notice(t, oid, self.order_thread_id(buyer))
                continue
            if t >= as_of or t < self.start - 30 * DAY:
                continue
            self.thread(t, o, tid, self.n_messages - self.msg_used)

    def order_events(
        self,
        oid: str,
        pt: int,
        prof: Behaviour,
        cancelled_by: str,
        after: int,
        delivered_at: int,
        lost: bool,
        late: bool,
        refunded_at: int,
        k: int,
    ) -> int:
        """Write the order's events; return its (possibly new) refund instant."""
        rand, as_of, m = self.rand, self.as_of, self.market
        if cancelled_by == "buyer" or not (after or cancelled_by):
            self.fill_events(oid, 0, prof, k)
            return refunded_at
        base = after or pt + 2 * DAY
        trouble = 4.0 if (lost or late or cancelled_by == "seller") else 1.0

        def room() -> bool:
            return self.ev_used < self.n_events

        def refund(at: int) -> None:
            nonlocal refunded_at
            if at < as_of and (not refunded_at or at < refunded_at):
                refunded_at = at

        if m in ("amazon", "ebay", "walmart") and rand() < prof.neg_feedback * trouble and room():
            t = base + int(rand() * 20 * DAY) + HOUR
            if t < as_of:
                s = rand()
                status = "removed" if s < 0.08 else ("withdrawn" if s < 0.14 else "")
                self.event("fb", oid, "feedback", t, str(1 + int(rand() * 2)), "", status)
        if m == "amazon" and rand() < (0.4 if lost else prof.a_to_z * trouble) and room():
            t = max(base, pt + 3 * DAY) + int(rand() * 25 * DAY)
            if t < as_of:
                status = self.claim_status(t)
                self.event("az", oid, "a_to_z_claim", t, "", "", status)
                if status == "granted":
                    refund(t + int(rand() * 5 * DAY))
        if rand() < prof.chargeback * trouble and room():
            t = pt + 10 * DAY + int(rand() * 50 * DAY)
            if t < as_of:
                status = self.claim_status(t)
                self.event("cb", oid, "chargeback", t, "", "", status)
                if status == "granted":
                    refund(t + int(rand() * 10 * DAY))
        if delivered_at and rand() < prof.return_request and room():
            t = delivered_at + HOUR + int(rand() * 25 * DAY)
            if t < as_of:
                if rand() < prof.slow_return:
                    resp = 0 if rand() < 0.3 else t + 48 * HOUR + MINUTE + int(rand() * 5 * DAY)
                else:
                    resp = (
                        t
                        + MINUTE
                        + int(min(47 * HOUR, self.rng.lognormvariate(math.log(4 * HOUR), 1.2)))
                    )
                if resp >= as_of:
                    resp = 0
                s = rand()
                if s < 0.05:  # the buyer changed their mind: ignored by every rule
                    status = "withdrawn"
                elif not resp:
                    status = "open"
                else:
                    status = "granted" if s < 0.72 else ("denied" if s < 0.82 else "closed")
                self.event(
                    "rr",
                    oid,
                    "return_request",
                    t,
                    "",
                    "",
                    status,
                    responded_at=self.fmt(resp) if resp else "",
                )
                if status == "granted":
                    refund(resp + 3 * DAY + int(rand() * 10 * DAY))
        if (
            m in ("ebay", "walmart", "etsy", "other")
            and rand() < (0.6 if lost else prof.inr_case * trouble)
            and room()
        ):
            self.case(
                oid, "inr_case", max(base, pt + 5 * DAY) + int(rand() * 20 * DAY), prof, refund
            )
        if m in ("ebay", "etsy") and delivered_at and rand() < prof.snad_case and room():
            self.case(oid, "snad_case", delivered_at + DAY + int(rand() * 20 * DAY), prof, refund)
        if not refunded_at and delivered_at and rand() < 0.004:  # goodwill partial refund
            refund(delivered_at + int(rand() * 10 * DAY))
        self.fill_events(oid, base, prof, k)
        return refunded_at

    def claim_status(self, t: int) -> str:
        if self.as_of - t < 12 * DAY and self.rand() < 0.7:
            return "open"
        s = self.rand()
        return (
            "granted"
            if s < 0.42
            else "denied"
            if s < 0.74
            else "withdrawn"
            if s < 0.88
            else "closed"
        )

    def case(
        self, oid: str, kind: str, t: int, prof: Behaviour, refund: Callable[[int], None]
    ) -> None:
        if t >= self.as_of:
            return
        if self.as_of - t < 10 * DAY and self.rand() < 0.6:
            self.event(kind[:-5], oid, kind, t, "", "", "open")
            return
        cwsr = self.rand() < prof.closed_without_seller
        self.event(kind[:-5], oid, kind, t, "", "", "closed", cwsr=self.T if cwsr else self.F)
        if cwsr or self.rand() < 0.5:
            refund(t + int(self.rand() * 8 * DAY))

    def fill_events(self, oid: str, base: int, prof: Behaviour, k: int) -> None:
        """Top the event quota up with ordinary feedback, reviews and surveys on this order."""
        target = self.n_events * (k + 1) // max(1, self.n_orders)
        if not base:
            return
        rand = self.rand
        for _ in range(4):
            if self.ev_used >= target:
                return
            t = base + HOUR + int(self.rng.lognormvariate(math.log(5 * DAY), 0.9))
            if t >= self.as_of:
                return
            u = rand()
            if u < self.fb_share:
                rating = 1 + bisect(prof.feedback_cum, rand())
                self.event("fb", oid, "feedback", t, str(rating), "", "")
            elif u < self.fb_share + self.rv_share:
                rating = 1 + bisect(prof.review_cum, rand())
                status = "removed" if rating <= 2 and rand() < 0.05 else ""
                self.event("rv", oid if rand() < 0.9 else "", "review", t, str(rating), "", status)
            else:
                self.survey(t, oid, prof)

    def survey(self, t: int, oid: str, prof: Behaviour, kind: str = "") -> None:
        u = {"nps": 0.0, "csat": 0.5, "ces": 0.9}[kind] if kind else self.rand()
        if u < 0.4:
            score = bisect(prof.nps_cum, self.rand())
            self.event("sv", oid, "survey", t, str(score), "nps", "")
        elif u < 0.8:
            score = 1 + bisect(prof.csat_cum, self.rand())
            self.event("sv", oid, "survey", t, str(score), "csat", "")
        else:
            score = 1 + bisect(prof.ces_cum, self.rand())
            self.event("sv", oid, "survey", t, str(score), "ces", "")

    def event(
        self,
        prefix: str,
        oid: str,
        kind: str,
        t: int,
        rating: str,
        survey: str,
        status: str,
        *,
        cwsr: str = "",
        responded_at: str = "",
    ) -> None:
        self.event_seq += 1
        self.ev_used += 1
        self.w.events.writerow(
            (
                self.acct,
                f"{prefix}-{self.event_seq:07d}",
                oid,
                kind,
                self.fmt(t),
                rating,
                survey,
                status,
                cwsr,
                responded_at,
            )
        )

    # -- messages ---------------------------------------------------------------------------

    def new_thread_id(self) -> str:
        self.thread_seq += 1
        if self.market == "facebook":
            return f"conv-{_scramble(self.thread_seq, self.salt, 10**15, _MULT_A):015d}"
        return f"t{self.thread_seq:07d}"

    def order_thread_id(self, buyer: str) -> str:
        """Facebook keeps one Messenger conversation per buyer; elsewhere, one per topic."""
        if self.market == "facebook" and buyer:
            return f"conv-{buyer}"
        return self.new_thread_id()

    def channel(self) -> str:
        u = self.rand()
        m = self.market
        if m == "facebook":
            return "messenger" if u < 0.96 else "email"
        if m == "other":
            return "email" if u < 0.6 else ("chat" if u < 0.85 else "phone")
        return "marketplace" if u < 0.9 else "email"

    def reply_delay(self, t: int, prof: Behaviour) -> int | None:
        """Seconds to a human reply, or None when nobody answers.

        Most replies take minutes to hours; at night a share waits for the next morning (still
        under 24 h); a few take days, which is what pushes the 24 h and 48 h rules down.
        """
        rand = self.rand
        u = rand()
        if u < prof.unanswered:
            return None
        if u < prof.unanswered + prof.slow_reply:
            return 24 * HOUR + MINUTE + int(rand() * 72 * HOUR)
        d = 20 + int(min(22 * HOUR, self.rng.lognormvariate(math.log(prof.reply_median), 1.1)))
        o = self.off(t)
        local_hour = (t + d + o) % DAY // HOUR
        if local_hour < 7 and rand() < prof.night_shift:
            morning = (t + d + o) // DAY * DAY + 7 * HOUR + int(rand() * 2 * HOUR) - o
            if morning - t < 23 * HOUR:
                d = morning - t
        return d

    def msg(
        self,
        t: int,
        thread: str,
        oid: str,
        direction: str,
        channel: str,
        needs_reply: str = "",
        agent: str = "",
        automated: str = "",
    ) -> list[str]:
        self.msg_seq += 1
        mid = f"{_scramble(self.msg_seq, self.salt, 1 << 48, _M64 & ((1 << 48) - 1)):012x}"
        return [
            self.acct,
            mid,
            thread,
            oid,
            self.fmt(t),
            direction,
            needs_reply,
            channel,
            agent,
            automated,
            "",
        ]

    def notice(self, t: int, oid: str, thread: str) -> None:
        """A message that needs no reply (delivery notice, buyer's thanks), often auto-closed."""
        row = self.msg(t, thread, oid, "in", self.channel(), needs_reply=self.F)
        prof = self.bad if t >= self.trouble_since else self.good
        if self.rand() < prof.resolve:
            res = t + MINUTE + int(self.rand() * 12 * HOUR)
            if res < self.as_of:
                row[10] = self.fmt(res)
        self.msg_used += 1
        self.w.messages.writerow(row)

    def thread(self, t0: int, oid: str, thread: str, cap: int) -> None:
        """One conversation: question, replies, follow-ups, maybe a chase and a resolution.

        At most ``cap`` messages are written (the quota left); anything at or after as_of is
        dropped, so a thread near as_of ends unanswered as it would be in a real export.
        """
        if cap <= 0:
            return
        rand, as_of, T, F = self.rand, self.as_of, self.T, self.F
        prof = self.bad if t0 >= self.trouble_since else self.good
        ch = self.channel()
        explicit = rand() < 0.5  # some exports write needs_reply=true, others leave it empty
        yes = T if explicit else ""
        rows = [self.msg(t0, thread, oid, "in", ch, needs_reply=yes)]
        t = last_t = t0
        chased = False
        answered = False
        while len(rows) < cap:
            if self.autoresponder and len(rows) == 1 and t + 20 < as_of:
                rows.append(
                    self.msg(
                        t + 1 + int(rand() * 15),
                        thread,
                        oid,
                        "out",
                        ch,
                        agent=self.auto_agent,
                        automated=T,
                    )
                )
                if len(rows) >= cap:
                    break
            d = self.reply_delay(t, prof)
            if d is None or t + d >= as_of:
                answered = False
                if not chased and d is None and rand() < 0.4:
                    t2 = t + 20 * HOUR + int(rand() * 40 * HOUR)
                    if t2 < as_of:
                        chased = True
                        t = t2
                        rows.append(self.msg(t, thread, oid, "in", ch, needs_reply=yes))
                        continue
                break
            t += d
            answered = True
            rows.append(
                self.msg(
                    t, thread, oid, "out", ch, agent=self.agent(), automated=F if explicit else ""
                )
            )
            if len(rows) >= cap:
                break
            if rand() > 0.33:
                if rand() < 0.15:  # "thanks!" that needs no answer
                    t2 = t + 5 * MINUTE + int(rand() * 6 * HOUR)
                    if t2 < as_of:
                        last_t = t2
                        rows.append(self.msg(t2, thread, oid, "in", ch, needs_reply=F))
                break
            t += 2 * MINUTE + int(self.rng.lognormvariate(math.log(40 * MINUTE), 1.2))
            if t >= as_of:
                break
            answered = False
            rows.append(self.msg(t, thread, oid, "in", ch, needs_reply=yes))
        # Resolution, on the last message, as helpdesk exports record it.
        last = rows[-1]
        p = prof.resolve if answered or last[6] == F else 0.06  # else: closed unanswered
        if rand() < p:
            span = self.rng.lognormvariate(math.log(2 * HOUR), 1.4)
            if rand() < 0.05:
                span += 2 * DAY + rand() * 5 * DAY
            res = max(t, last_t) + MINUTE + int(span)
            if res < as_of:
                last[10] = self.fmt(res)
                if rand() < prof.survey_after_thread and self.ev_used < self.n_events:
                    ts = res + 10 * MINUTE + int(rand() * 2 * DAY)
                    if ts < as_of:
                        u = rand()
                        kind = "csat" if u < 0.6 else ("ces" if u < 0.85 else "nps")
                        self.survey(ts, oid, prof, kind)
        self.msg_used += len(rows)
        self.w.messages.writerows(rows)


def generate(
    out_dir: str | Path,
    *,
    accounts: int | Sequence[AccountSpec],
    orders: int,
    messages: int,
    events: int,
    as_of: str | datetime,
    seed: int,
    trouble_share: float = 0.1,
) -> Summary:
    """Write accounts.csv, orders.csv, messages.csv and events.csv into ``out_dir``.

    ``accounts`` is a count (accounts are drawn, ``trouble_share`` of them troubled) or explicit
    specs (their troubles are used as given). Row counts are exact. Returns what was written.
    """
    if min(orders, messages, events) < 0:
        raise ValueError("row counts must be >= 0")
    rng = random.Random(seed)
    t_as_of = parse_as_of(as_of)
    if isinstance(accounts, int):
        if accounts < 1:
            raise ValueError("at least one account is needed")
        specs = random_accounts(rng, accounts, trouble_share)
    else:
        specs = list(accounts)
        if not specs:
            raise ValueError("at least one account is needed")
        for s in specs:
            if s.marketplace not in MARKETPLACES:
                raise ValueError(f"{s.account_id}: unknown marketplace {s.marketplace!r}")
            if s.region not in REGIONS:
                raise ValueError(f"{s.account_id}: unknown region {s.region!r}")
        if len({s.account_id for s in specs}) != len(specs):
            raise ValueError("account ids must be unique")
    chat = [
        s.chat_factor
        if s.chat_factor is not None
        else {"facebook": 2.0, "other": 1.6}.get(s.marketplace, 1.0)
        for s in specs
    ]
    n_orders = _allocate(orders, [s.weight for s in specs])
    n_messages = _allocate(messages, [s.weight * c for s, c in zip(specs, chat, strict=True)])
    n_events = _allocate(events, [s.weight for s in specs])

    out = Path(out_dir)
    w = _Writers(out)
    as_of_text = datetime.fromtimestamp(t_as_of, UTC).isoformat().replace("+00:00", "Z")
    summary = Summary(out_dir=str(out), as_of=as_of_text, seed=seed)
    try:
        for i, spec in enumerate(specs):
            w.accounts.writerow(
                (
                    spec.account_id,
                    spec.marketplace,
                    spec.name,
                    spec.email,
                    spec.locale,
                    spec.timezone,
                )
            )
            gen = _AccountGen(spec, rng, t_as_of, n_orders[i], n_messages[i], n_events[i], w)
            gen.run()
            summary.accounts.append(
                {
                    "account_id": spec.account_id,
                    "marketplace": spec.marketplace,
                    "region": spec.region,
                    "troubles": list(spec.troubles),
                    "trouble_since": gen.fmt(gen.trouble_since) if spec.troubles else None,
                    "orders": n_orders[i],
                    "messages": n_messages[i],
                    "events": n_events[i],
                }
            )
    finally:
        w.close()
    summary.counts = {
        "accounts": len(specs),
        "orders": orders,
        "messages": messages,
        "events": events,
    }
    return summary


# --------------------------------------------------------------------------------------------
# The committed example data set
# --------------------------------------------------------------------------------------------

EXAMPLE_AS_OF = "2026-11-01T00:00:00Z"
EXAMPLE_SEED = 225
EXAMPLE_COUNTS = {"orders": 4500, "messages": 5600, "events": 3600}

EXAMPLE_ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec(
        "northwind-us",
        "amazon",
        "US",
        "Northwind Home Goods",
        "ops@northwind.example.com",
        "en",
        "America/New_York",
        weight=1250,
        fba_share=0.25,
        offset_style="local",
        bool_style="true",
        growth=1.0,
        agents=("dana@northwind.example.com", "lee@northwind.example.com", "sam"),
    ),
    AccountSpec(
        "acme-de",
        "amazon",
        "DE",
        "ACME Werkzeug GmbH",
        "amazon@acme-werkzeug.example.com, chef@acme-werkzeug.example.com",
        "en",
        "Europe/Berlin",
        weight=850,
        fba_share=0.0,
        troubles=("defects",),
        trouble_days=120,
        offset_style="local",
        bool_style="true",
        growth=1.2,
        agents=("jonas", "mia@acme-werkzeug.example.com"),
    ),
    AccountSpec(
        "harbor-uk",
        "ebay",
        "UK",
        "Harbor & Pine, Ltd.",
        "sales@harborpine.example.com",
        "en",
        "Europe/London",
        weight=420,
        offset_style="Zms",
        bool_style="true",
        growth=0.8,
        agents=("chris", "priya"),
    ),
    AccountSpec(
        "outback-parts-au",
        "ebay",
        "AU",
        'Outback "4x4" Parts',
        "parts@outback.example.com",
        "en",
        "Australia/Sydney",
        weight=300,
        offset_style="local",
        bool_style="TRUE",
        growth=1.0,
        agents=("jamie@outback.example.com", "riley"),
    ),
    AccountSpec(
        "ceramica-it",
        "etsy",
        "IT",
        "L'Atelier di Ceramica",
        "ciao@ceramica.example.com",
        "it",
        "Europe/Rome",
        weight=260,
        offset_style="local",
        bool_style="true",
        growth=1.0,
        agents=("giulia", "marco"),
    ),
    AccountSpec(
        "prairie-us",
        "walmart",
        "US",
        "Prairie Outfitters",
        "walmart@prairie.example.com",
        "en",
        "America/Chicago",
        weight=520,
        fba_share=0.1,
        troubles=("late_shipment", "tracking"),
        trouble_days=100,
        offset_style="Z",
        bool_style="true",
        growth=1.0,
        agents=("taylor", "morgan", "casey"),
    ),
    AccountSpec(
        "casa-lume-br",
        "facebook",
        "BR",
        "Casa Lume Presentes",
        "",
        "pt-BR",
        "America/Sao_Paulo",
        weight=340,
        troubles=("slow_replies",),
        chat_factor=5.0,
        trouble_days=120,
        offset_style="local",
        bool_style="1",
        growth=1.2,
        agents=("beatriz",),
    ),
    AccountSpec(
        "tienda-sol-mx",
        "other",
        "MX",
        "Tienda Sol, S.A. de C.V.",
        "hola@tiendasol.example.com",
        "es",
        "America/Mexico_City",
        weight=320,
        offset_style="+00:00",
        bool_style="true",
        growth=1.0,
        agents=("lucia", "mateo@tiendasol.example.com"),
    ),
)


def generate_examples(out_dir: str | Path = "examples/data") -> Summary:
    """Regenerate the committed example data set (fixed accounts, counts, as_of and seed)."""
    return generate(
        out_dir, accounts=EXAMPLE_ACCOUNTS, as_of=EXAMPLE_AS_OF, seed=EXAMPLE_SEED, **EXAMPLE_COUNTS
    )


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Write synthetic seller data (accounts, orders, messages, events CSV) "
        "in the seller-health import format."
    )
    p.add_argument("out_dir", help="directory to write the four CSV files into")
    p.add_argument(
        "--preset",
        choices=["examples"],
        help="'examples': the committed example data set (fixed accounts)",
    )
    p.add_argument("--accounts", type=int, default=None, help="accounts to draw (default 100)")
    p.add_argument("--orders", type=int, default=None, help="exact row count (default 100000)")
    p.add_argument("--messages", type=int, default=None, help="exact row count (default 100000)")
    p.add_argument("--events", type=int, default=None, help="exact row count (default 20000)")
    p.add_argument(
        "--as-of",
        default=None,
        help=f"snapshot instant, ISO 8601 with offset (default {EXAMPLE_AS_OF})",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default 1)")
    p.add_argument(
        "--trouble-share",
        type=float,
        default=0.1,
        help="share of drawn accounts with degraded behaviour (default 0.1)",
    )
    p.add_argument("--manifest", help="also write a JSON summary (accounts, troubles) here")
    a = p.parse_args(argv)

    started = time.perf_counter()
    if a.preset == "examples":
        if a.accounts is not None:
            p.error("--accounts cannot be combined with --preset examples")
        summary = generate(
            a.out_dir,
            accounts=EXAMPLE_ACCOUNTS,
            orders=a.orders if a.orders is not None else EXAMPLE_COUNTS["orders"],
            messages=a.messages if a.messages is not None else EXAMPLE_COUNTS["messages"],
            events=a.events if a.events is not None else EXAMPLE_COUNTS["events"],
            as_of=a.as_of or EXAMPLE_AS_OF,
            seed=a.seed if a.seed is not None else EXAMPLE_SEED,
        )
    else:
        summary = generate(
            a.out_dir,
            accounts=a.accounts if a.accounts is not None else 100,
            orders=a.orders if a.orders is not None else 100_000,
            messages=a.messages if a.messages is not None else 100_000,
            events=a.events if a.events is not None else 20_000,
            as_of=a.as_of or EXAMPLE_AS_OF,
            seed=a.seed if a.seed is not None else 1,
            trouble_share=a.trouble_share,
        )
    elapsed = time.perf_counter() - started
    if a.manifest:
        Path(a.manifest).write_text(json.dumps(summary.__dict__, indent=2) + "\n", encoding="utf-8")
    troubled = [x for x in summary.accounts if x["troubles"]]
    print(
        f"wrote {summary.counts['accounts']} accounts, {summary.counts['orders']} orders, "
        f"{summary.counts['messages']} messages, {summary.counts['events']} events "
        f"to {summary.out_dir} in {elapsed:.1f}s ({len(troubled)} troubled accounts)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
