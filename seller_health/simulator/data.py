"""Seeded seller histories: the ground truth the simulator serves.

Each account gets ~13 months of orders (MFN and AFN) whose life is decided event by event —
payment, cancellation, ship confirmation, tracking upload, carrier delivery — and then cut at
``data_end``: an order whose ship time lies after it is still unshipped, and so on. Feedback,
A-to-z claims and chargebacks are drawn from the same orders. Troubled accounts draw from worse
rates, so their late-shipment, cancellation, tracking and defect figures breach Amazon's targets.

The records use the canonical vocabulary of the import format (``merchant``/``marketplace``,
``pending``...``delivered``...), so a connector test can compare what it synced field by field;
the API renderings (``orders.py``) derive from them and never the other way round.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from seller_health.simulator.config import SellerAccount
from seller_health.simulator.marketplaces import Marketplace, marketplace

# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimItem:
    order_item_id: str
    asin: str
    seller_sku: str
    title: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class SimOrder:
    """One order as the marketplace knows it at ``data_end`` (fields follow the import format)."""

    account: str  # the seller's refresh token
    order_id: str
    marketplace_id: str
    purchased_at: datetime
    last_updated_at: datetime
    status: str  # pending | unshipped | shipped | delivered | cancelled
    fulfillment: str  # merchant (MFN) | marketplace (AFN)
    earliest_ship: datetime
    ship_by: datetime
    earliest_delivery: datetime
    deliver_by: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    tracking_id: str | None
    tracking_valid: bool | None
    carrier: str | None
    shipping_service: str | None
    package_id: str | None
    cancelled_at: datetime | None
    cancelled_by: str | None  # buyer | seller | marketplace
    cancel_reason: str | None
    buyer_id: str
    buyer_email: str
    buyer_name: str
    total: Decimal
    shipping_charge: Decimal
    currency: str
    items: tuple[SimItem, ...]
    service_level: str  # v0 ShipmentServiceLevelCategory spelling: Standard, Expedited, NextDay
    is_prime: bool
    is_business: bool
    seller_order_id: str | None
    ship_to_city: str
    ship_to_region: str
    ship_to_postal_code: str
    #: None, or how the APIs render this order broken: (kind, v2026 field, v0 field) with kind
    #: "missing_field" (a required field left out) or "bad_date" (an unparseable date).
    malformed: tuple[str, str, str] | None = None

    @property
    def is_mfn(self) -> bool:
        return self.fulfillment == "merchant"

    @property
    def units(self) -> int:
        return sum(item.quantity for item in self.items)


@dataclass(frozen=True)
class SimEvent:
    """Feedback, an A-to-z claim or a chargeback on an order (import format ``events.csv``)."""

    account: str
    event_id: str
    order_id: str
    kind: str  # feedback | a_to_z_claim | chargeback
    occurred_at: datetime
    rating: int | None = None
    comment: str | None = None
    response: str | None = None
    rater_email: str | None = None
    status: str | None = None

    @property
    def is_defect(self) -> bool:
        """Counts toward ODR: negative (1-2 star) feedback, any claim or chargeback not denied."""
        if self.kind == "feedback":
            return self.rating is not None and self.rating <= 2
        return self.status != "denied"


@dataclass(frozen=True)
class AccountData:
    account: SellerAccount
    market: Marketplace
    orders: tuple[SimOrder, ...]
    events: tuple[SimEvent, ...]
    listing_violations: int


# --- rates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    """Per-order probabilities; healthy ones keep every Amazon metric well inside its target."""

    mfn_share: float
    seller_cancel: float
    buyer_cancel: float
    auto_cancel: float
    late_ship: float
    invalid_tracking: float
    late_delivery: float
    negative_feedback: float
    neutral_feedback: float
    positive_feedback: float
    claim: float
    chargeback: float


HEALTHY = Rates(
    mfn_share=0.6,
    seller_cancel=0.002,
    buyer_cancel=0.015,
    auto_cancel=0.0005,
    late_ship=0.01,
    invalid_tracking=0.008,
    late_delivery=0.006,
    negative_feedback=0.002,
    neutral_feedback=0.004,
    positive_feedback=0.08,
    claim=0.0007,
    chargeback=0.0002,
)
TROUBLED = Rates(
    mfn_share=0.7,
    seller_cancel=0.045,
    buyer_cancel=0.02,
    auto_cancel=0.01,
    late_ship=0.11,
    invalid_tracking=0.09,
    late_delivery=0.14,
    negative_feedback=0.025,
    neutral_feedback=0.012,
    positive_feedback=0.05,
    claim=0.014,
    chargeback=0.004,
)

# --- vocabulary ----------------------------------------------------------------------------

_FIRST = ("Alex", "Maria", "Jonas", "Aiko", "Priya", "Lucas", "Emma", "Noah", "Sofia", "Liam")
_LAST = ("Smith", "Müller", "Rossi", "Tanaka", "Dubois", "García", "Kowalski", "Berg", "Singh")
_NOUNS = ("Drill", "Kettle", "Lamp", "Backpack", "Headphones", "Blender", "Tent", "Mug", "Charger")
_ADJECTIVES = ("Compact", "Pro", "Cordless", "Classic", "Ultra", "Eco", "Smart", "Travel")
_CITIES = (
    ("Springfield", "IL", "62701"),
    ("Hamburg", "HH", "20095"),
    ("Lyon", "ARA", "69001"),
    ("Osaka", "Osaka", "530-0001"),
    ("Leeds", "England", "LS1 4AP"),
    ("Austin", "TX", "73301"),
)
_CARRIERS = {
    "NA": (("UPS", "UPS Ground"), ("USPS", "USPS Priority Mail"), ("FedEx", "FedEx Home")),
    "EU": (("DHL", "DHL Paket"), ("DPD", "DPD Classic"), ("Hermes", "Hermes Standard")),
    "FE": (("Yamato", "Yamato TA-Q-BIN"), ("Sagawa", "Sagawa Standard"), ("AusPost", "Parcel")),
}
_NEGATIVE_COMMENTS = (
    "Arrived a week late and the box was crushed.",
    "Item never arrived, seller did not answer.",
    "Not as described, missing parts.",
    "Cancelled my order without explanation.",
    "Tracking number never worked.",
)
_NEUTRAL_COMMENTS = (
    "Took longer than expected but fine.",
    "Product ok, packaging poor.",
    "Average experience.",
)
_RESPONSES = ("We are sorry, a replacement is on its way.", "Please contact us so we can help.")

_SERVICE_LEVELS = (("Standard", 0.82), ("Expedited", 0.12), ("NextDay", 0.04), ("SecondDay", 0.02))
_TRANSIT_DAYS = {"Standard": (3, 5), "Expedited": (2, 3), "SecondDay": (2, 2), "NextDay": (1, 1)}


#: Tracking-number shapes by carrier: (prefix, digits that follow).
_TRACKING_SHAPES = {
    "UPS": ("1Z", 16),
    "USPS": ("9400", 18),
    "FedEx": ("", 12),
    "DHL": ("00340", 15),
    "DPD": ("0", 13),
    "Hermes": ("H", 19),
    "Yamato": ("", 12),
    "Sagawa": ("", 12),
    "AusPost": ("AP", 10),
}


def _tracking_number(rng: random.Random, carrier: str) -> str:
    prefix, digits = _TRACKING_SHAPES.get(carrier, ("", 12))
    return prefix + "".join(rng.choice("0123456789") for _ in range(digits))


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0, 0, 0), tzinfo=UTC)


def _whole(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _weighted(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _money(value: float, market: Marketplace) -> Decimal:
    quantum = Decimal(1).scaleb(-market.minor_units)
    if market.currency == "JPY":
        value *= 150
    return Decimal(str(value)).quantize(quantum)


def _stable_hex(*parts: object, length: int = 16) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:length]


# --- generation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Product:
    asin: str
    sku: str
    title: str
    price: float


def _catalog(rng: random.Random, size: int = 24) -> list[_Product]:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    products = []
    for n in range(size):
        asin = "B0" + "".join(rng.choice(alphabet) for _ in range(8))
        title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.randint(100, 999)}"
        products.append(_Product(asin, f"SKU-{n:04d}-{asin[-4:]}", title, rng.uniform(6, 180)))
    return products


def generate_account(
    seed: int, account: SellerAccount, data_end: datetime, history_days: int, malformed: float
) -> AccountData:
    """Build one account's history; every draw comes from RNGs named by seed and account."""
    market = marketplace(account.marketplace_id)
    rates = TROUBLED if account.in_trouble else HEALTHY
    rng = random.Random(f"{seed}:orders:{account.refresh_token}")
    catalog = _catalog(rng)
    start = data_end - timedelta(days=history_days)
    span = (data_end - start).total_seconds()
    purchases = sorted(
        start + timedelta(seconds=int(rng.random() * span)) for _ in range(account.order_count)
    )
    context = _Context(seed, account, market, rates, catalog, _CARRIERS[market.region], data_end)
    buyers = max(5, int(account.order_count * 0.75))
    seen_ids: set[str] = set()
    orders: list[SimOrder] = []
    for index, purchased_at in enumerate(purchases):
        order_id = _order_id(rng, market, seen_ids)
        # Three orders in ten come from a few loyal buyers (Pareto), the rest from anyone.
        loyal = rng.random() < 0.3
        buyer = min(int(rng.paretovariate(1.2)) - 1, buyers - 1) if loyal else rng.randrange(buyers)
        orders.append(_order(rng, context, index, order_id, purchased_at, buyer))
    orders = _mark_malformed(seed, account, orders, malformed)
    events = _events(seed, account, rates, orders, data_end)
    violations = random.Random(f"{seed}:violations:{account.refresh_token}").randint(1, 4)
    return AccountData(
        account, market, tuple(orders), tuple(events), violations if account.in_trouble else 0
    )


def _order_id(rng: random.Random, market: Marketplace, seen: set[str]) -> str:
    while True:
        prefix = rng.choice(market.order_prefixes)
        order_id = f"{prefix:03d}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
        if order_id not in seen:
            seen.add(order_id)
            return order_id


@dataclass(frozen=True)
class _Context:
    """What every order of one account is drawn against."""

    seed: int
    account: SellerAccount
    market: Marketplace
    rates: Rates
    catalog: list[_Product]
    carriers: tuple[tuple[str, str], ...]
    data_end: datetime


def _order(
    rng: random.Random,
    context: _Context,
    index: int,
    order_id: str,
    purchased_at: datetime,
    buyer_index: int,
) -> SimOrder:
    """Decide every event of one order, then keep only those that happened by ``data_end``."""
    account, market, rates, data_end = (
        context.account,
        context.market,
        context.rates,
        context.data_end,
    )
    catalog, carriers, seed = context.catalog, context.carriers, context.seed
    mfn = rng.random() < rates.mfn_share
    service_level = _weighted(rng, _SERVICE_LEVELS)
    handling = rng.choice((1, 1, 2, 2, 3)) if mfn else 1
    if service_level in ("NextDay", "SecondDay"):
        handling = 1
    # Orders after the afternoon cut-off start their handling time the next day.
    first_day = purchased_at.date() + timedelta(days=1 if purchased_at.hour >= 14 else 0)
    ship_by = _end_of_day(first_day + timedelta(days=handling - 1))
    earliest_ship = _start_of_day(purchased_at.date())
    low, high = _TRANSIT_DAYS[service_level]
    earliest_delivery = _start_of_day(ship_by.date() + timedelta(days=low))
    deliver_by = _end_of_day(ship_by.date() + timedelta(days=high))
    paid_at = purchased_at + timedelta(minutes=rng.randint(1, 25))

    lines = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        product = rng.choice(catalog)
        lines.append(
            SimItem(
                order_item_id=f"{rng.randrange(10**13, 10**14)}",
                asin=product.asin,
                seller_sku=product.sku,
                title=product.title,
                quantity=rng.choice((1, 1, 1, 2)),
                unit_price=_money(product.price, market),
            )
        )
    shipping_charge = _money(rng.choice((0.0, 0.0, 4.99)), market) if mfn else _money(0.0, market)
    total = sum((i.unit_price * i.quantity for i in lines), Decimal(0)) + shipping_charge

    # Cancellation: decided before shipping; seller and auto cancellations are MFN-only faults.
    draw = rng.random()
    cancelled_by = None
    cancelled_at = None
    cancel_reason = None
    if mfn and draw < rates.seller_cancel:
        cancelled_by, cancel_reason = "seller", "NoInventory"
        cancelled_at = paid_at + timedelta(hours=rng.uniform(1, 30))
    elif mfn and draw < rates.seller_cancel + rates.auto_cancel:
        cancelled_by, cancel_reason = "marketplace", "ShipmentNotConfirmed"
        cancelled_at = ship_by + timedelta(days=7)
    elif draw < rates.seller_cancel + rates.auto_cancel + rates.buyer_cancel:
        cancelled_by, cancel_reason = "buyer", "BuyerCanceled"
        cancelled_at = paid_at + timedelta(minutes=rng.uniform(5, 600))

    if mfn:
        if rng.random() < rates.late_ship:
            planned_ship = ship_by + timedelta(hours=rng.uniform(2, 72))
        else:
            window = max((ship_by - paid_at).total_seconds() - 3600, 600)
            planned_ship = paid_at + timedelta(seconds=rng.uniform(300, window))
    else:
        planned_ship = paid_at + timedelta(hours=rng.uniform(3, 20))
    carrier, shipping_service = rng.choice(carriers) if mfn else (None, None)
    valid = not (mfn and rng.random() < rates.invalid_tracking)
    missing_tracking = not valid and rng.random() < 0.5
    tracking = None
    if mfn and not missing_tracking:
        tracking = (
            _tracking_number(rng, carrier or "")
            if valid
            else rng.choice(("TBA", "123", "0000000000", "N/A"))
        )
    late_draw = rng.random()
    late_delivery = late_draw < rates.late_delivery or (planned_ship > ship_by and late_draw < 0.5)
    if late_delivery and (mfn or rng.random() < 0.3):
        late_from = max(deliver_by, planned_ship + timedelta(hours=18))
        planned_delivery = late_from + timedelta(hours=rng.uniform(3, 96))
    else:
        earliest = planned_ship + timedelta(hours=18)
        latest = max(deliver_by - timedelta(hours=2), earliest + timedelta(hours=1))
        planned_delivery = earliest + (latest - earliest) * rng.random()

    # Cut the story at data_end. A cancelled order never ships; one whose cancellation is still
    # in the future is simply not shipped yet.
    ships = cancelled_at is None
    if cancelled_at is not None and cancelled_at > data_end:
        cancelled_at = cancelled_by = cancel_reason = None
    shipped_at = planned_ship if ships and planned_ship <= data_end else None
    delivered_at = None
    if shipped_at is not None and valid and planned_delivery <= data_end:
        delivered_at = planned_delivery  # carrier-confirmed: needs a tracking number that scans
    if paid_at > data_end:
        status = "pending"
    elif cancelled_at is not None:
        status = "cancelled"
    elif shipped_at is None:
        status = "unshipped"
    elif delivered_at is None:
        status = "shipped"
    else:
        status = "delivered"
    # Whole seconds everywhere: the APIs print seconds, and a connector that resumes from the last
    # timestamp it saw must not miss an order hidden in a truncated fraction.
    paid_at = _whole(paid_at)
    cancelled_at = _whole(cancelled_at) if cancelled_at else None
    shipped_at = _whole(shipped_at) if shipped_at else None
    delivered_at = _whole(delivered_at) if delivered_at else None
    moments = [m for m in (paid_at, cancelled_at, shipped_at, delivered_at) if m is not None]
    last_updated = max([purchased_at, *[m for m in moments if m <= data_end]])

    city, region, postal = rng.choice(_CITIES)
    buyer_hex = _stable_hex(seed, account.refresh_token, "buyer", buyer_index)
    buyer_name = f"{_FIRST[buyer_index % len(_FIRST)]} {_LAST[(buyer_index // 7) % len(_LAST)]}"
    return SimOrder(
        account=account.refresh_token,
        order_id=order_id,
        marketplace_id=market.marketplace_id,
        purchased_at=purchased_at,
        last_updated_at=last_updated,
        status=status,
        fulfillment="merchant" if mfn else "marketplace",
        earliest_ship=earliest_ship,
        ship_by=ship_by,
        earliest_delivery=earliest_delivery,
        deliver_by=deliver_by,
        shipped_at=shipped_at,
        delivered_at=delivered_at,
        tracking_id=tracking if shipped_at is not None else None,
        tracking_valid=(valid if shipped_at is not None else None) if mfn else None,
        carrier=carrier if shipped_at is not None else None,
        shipping_service=shipping_service if shipped_at is not None else None,
        package_id=f"PKG-{order_id}-1" if mfn and shipped_at is not None else None,
        cancelled_at=cancelled_at,
        cancelled_by=cancelled_by,
        cancel_reason=cancel_reason,
        buyer_id=buyer_hex,
        buyer_email=f"{buyer_hex}@marketplace.{market.email_domain}",
        buyer_name=buyer_name,
        total=total,
        shipping_charge=shipping_charge,
        currency=market.currency,
        items=tuple(lines),
        service_level=service_level,
        is_prime=service_level in ("NextDay", "SecondDay") or rng.random() < 0.2,
        is_business=rng.random() < 0.05,
        seller_order_id=f"SO-{index:06d}" if mfn else None,
        ship_to_city=city,
        ship_to_region=region,
        ship_to_postal_code=postal,
    )


#: Required fields that a malformed order loses: (v2026 Order field, v0 Order field).
_REQUIRED_PAIRS = (
    ("createdTime", "PurchaseDate"),
    ("lastUpdatedTime", "LastUpdateDate"),
    ("salesChannel", "OrderStatus"),
    ("orderItems", "AmazonOrderId"),
)


def _mark_malformed(
    seed: int, account: SellerAccount, orders: list[SimOrder], share: float
) -> list[SimOrder]:
    """Flag a seeded share of orders to be rendered broken (a separate RNG keeps data stable)."""
    if share <= 0:
        return orders
    rng = random.Random(f"{seed}:malformed:{account.refresh_token}")
    marked = []
    for order in orders:
        if rng.random() < share:
            kind = rng.choice(("missing_field", "bad_date"))
            v2026, v0 = (
                rng.choice(_REQUIRED_PAIRS) if kind == "missing_field" else _REQUIRED_PAIRS[0]
            )
            order = replace(order, malformed=(kind, v2026, v0))
        marked.append(order)
    return marked


def _events(
    seed: int,
    account: SellerAccount,
    rates: Rates,
    orders: list[SimOrder],
    data_end: datetime,
) -> list[SimEvent]:
    """Feedback, claims and chargebacks, attributed to orders that reached the buyer."""
    rng = random.Random(f"{seed}:events:{account.refresh_token}")
    events: list[SimEvent] = []

    def add(order: SimOrder, kind: str, at: datetime, **extra: object) -> None:
        if at > data_end:
            return
        events.append(
            SimEvent(
                account=account.refresh_token,
                event_id=f"{kind[:2].upper()}-{_stable_hex(seed, order.order_id, kind, 8)}",
                order_id=order.order_id,
                kind=kind,
                occurred_at=at.replace(microsecond=0),
                **extra,  # type: ignore[arg-type]
            )
        )

    for order in orders:
        if order.shipped_at is None:
            continue
        base = order.delivered_at or order.shipped_at + timedelta(days=4)
        draw = rng.random()
        at = base + timedelta(hours=rng.uniform(6, 240))
        if draw < rates.negative_feedback:
            add(
                order,
                "feedback",
                at,
                rating=rng.choice((1, 2)),
                comment=rng.choice(_NEGATIVE_COMMENTS),
                response=rng.choice(_RESPONSES) if rng.random() < 0.4 else None,
                rater_email=order.buyer_email,
                status="open",
            )
        elif draw < rates.negative_feedback + rates.neutral_feedback:
            add(
                order,
                "feedback",
                at,
                rating=3,
                comment=rng.choice(_NEUTRAL_COMMENTS),
                rater_email=order.buyer_email,
                status="open",
            )
        elif draw < rates.negative_feedback + rates.neutral_feedback + rates.positive_feedback:
            add(
                order,
                "feedback",
                at,
                rating=rng.choice((4, 5, 5)),
                comment="Great, thanks!",
                rater_email=order.buyer_email,
                status="open",
            )
        if rng.random() < rates.claim:
            claim_at = order.deliver_by + timedelta(hours=rng.uniform(12, 480))
            add(order, "a_to_z_claim", claim_at, status=rng.choice(("open", "granted", "granted")))
        if rng.random() < rates.chargeback:
            add(order, "chargeback", base + timedelta(days=rng.uniform(5, 40)), status="open")
    events.sort(key=lambda e: (e.occurred_at, e.event_id))
    return events
