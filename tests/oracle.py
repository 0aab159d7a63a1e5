"""Independent plain-Python reference implementation ("oracle") of the metric specification.

Written from ``/work/shared/spec/metrics.md`` and ``/work/shared/spec/import-format.md`` alone,
without looking at the SQL engine, so that property tests comparing the two catch mistakes in
either. Clarity over speed: it runs on small random data sets.

Entry point: :func:`evaluate`. Every value is exact (``fractions.Fraction``); no float is ever
compared with a threshold.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

Record = dict[str, Any]
Result = dict[str, Any]

# (selecting instant, id, is_bad): one member of a rate rule's population.
Item = tuple[datetime, str, bool]
# (selecting instant, id, individual value): one member of a mean / median sample.
Sample = tuple[datetime, str, Fraction]

HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)

STATUS_RANK = {"ok": 0, "insufficient_data": 1, "warn": 2, "breach": 3}
"""'An account's status is its worst rule status, ordered breach > warn > insufficient_data >
ok.'"""

INSTANT_FIELDS = (
    "purchased_at",
    "ship_by",
    "shipped_at",
    "deliver_by",
    "delivered_at",
    "cancelled_at",
    "refunded_at",
    "sent_at",
    "resolved_at",
    "occurred_at",
    "responded_at",
)
HAPPENING_FIELDS = (
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "refunded_at",
    "responded_at",
    "resolved_at",
)
"""'an instant field (shipped_at, delivered_at, cancelled_at, refunded_at, responded_at,
resolved_at) at or after T has not happened yet.' (ship_by / deliver_by are promises, kept.)"""

MARKETPLACES = ("amazon", "ebay", "etsy", "walmart", "facebook")

ETSY_SALES_THRESHOLD = {
    "USD": Decimal(300),
    "GBP": Decimal(200),
    "EUR": Decimal(250),
    "CAD": Decimal(350),
    "AUD": Decimal(350),
}
ETSY_OTHER_SALES_THRESHOLD = Decimal(300)


# --------------------------------------------------------------------------------------------
# Rule table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """One condition: ``value OP limit``, and for eBay compound limits also ``count > count``.

    'eBay states its limits as "at most r with at most n": a limit fails only when the rate is
    above r **and** the count is above n.'
    """

    op: str  # "<", ">", ">="
    limit: Fraction
    count: int | None = None

    def holds(self, value: Fraction, count: int | None = None) -> bool:
        if self.op == "<":
            met = value < self.limit
        elif self.op == ">":
            met = value > self.limit
        elif self.op == ">=":
            met = value >= self.limit
        else:  # pragma: no cover - table typo
            raise ValueError(self.op)
        if self.count is not None:
            if count is None:  # pragma: no cover - programming error
                raise ValueError("compound threshold needs a count")
            met = met and count > self.count
        return met


@dataclass(frozen=True)
class RuleSpec:
    """A rule id, its kind of metric, whether its numerator counts good items, its thresholds."""

    rule_id: str
    kind: str  # "rate" | "mean" | "median" | "nps" | "count"
    breach: Threshold | None = None
    warn: Threshold | None = None
    good: bool = False
    min_sample: int = 1

    @property
    def pack(self) -> str:
        return self.rule_id.split(".", 1)[0]

    @property
    def compound(self) -> bool:
        return any(t is not None and t.count is not None for t in (self.breach, self.warn))


def _pct(text: str) -> Fraction:
    """'4 of 400 is exactly 1%': percentages become exact fractions."""
    return Fraction(text) / 100


def _t(op: str, limit: Fraction | int | str, count: int | None = None) -> Threshold:
    return Threshold(op, Fraction(limit), count)


_RULE_LIST = [
    # Amazon
    RuleSpec("amazon.order_defect_rate", "rate", _t(">=", _pct("1")), _t(">=", _pct("0.75"))),
    RuleSpec("amazon.order_defect_rate_fba", "rate", _t(">=", _pct("1")), _t(">=", _pct("0.75"))),
    RuleSpec("amazon.late_shipment_rate", "rate", _t(">=", _pct("4")), _t(">=", _pct("3"))),
    RuleSpec("amazon.late_shipment_rate_10d", "rate", _t(">=", _pct("4")), _t(">=", _pct("3"))),
    RuleSpec("amazon.cancellation_rate", "rate", _t(">=", _pct("2.5")), _t(">=", _pct("2"))),
    RuleSpec(
        "amazon.valid_tracking_rate", "rate", _t("<", _pct("95")), _t("<", _pct("96")), good=True
    ),
    RuleSpec("amazon.on_time_delivery_rate", "rate", None, _t("<", _pct("97")), good=True),
    RuleSpec(
        "amazon.response_within_24h", "rate", _t("<", _pct("90")), _t("<", _pct("95")), good=True
    ),
    RuleSpec(
        "amazon.return_response_48h", "rate", _t("<", _pct("90")), _t("<", _pct("95")), good=True
    ),
    # eBay
    RuleSpec(
        "ebay.transaction_defect_rate", "rate", _t(">", _pct("2"), 4), _t(">", _pct("0.5"), 3)
    ),
    RuleSpec("ebay.cases_closed_without_resolution", "rate", _t(">", _pct("0.3"), 2), None),
    RuleSpec("ebay.late_shipment_rate", "rate", _t(">", _pct("7"), 7), _t(">", _pct("3"), 5)),
    RuleSpec("ebay.tracking_uploaded", "rate", None, _t("<", _pct("95")), good=True),
    # Etsy
    RuleSpec("etsy.message_response_24h", "rate", None, _t("<", _pct("95")), good=True),
    RuleSpec("etsy.on_time_dispatch_with_tracking", "rate", None, _t("<", _pct("95")), good=True),
    RuleSpec("etsy.average_review_rating", "mean", None, _t("<", "4.8")),
    # Walmart
    RuleSpec("walmart.on_time_delivery_rate", "rate", _t("<", _pct("90")), None, good=True),
    RuleSpec("walmart.valid_tracking_rate", "rate", _t("<", _pct("99")), None, good=True),
    RuleSpec("walmart.cancellation_rate", "rate", _t(">", _pct("2")), None),
    RuleSpec("walmart.refund_rate", "rate", _t(">", _pct("6")), None),
    RuleSpec("walmart.return_rate", "rate", _t(">", _pct("6")), None),
    RuleSpec("walmart.seller_response_48h", "rate", _t("<", _pct("95")), None, good=True),
    RuleSpec("walmart.negative_feedback_rate", "rate", _t(">", _pct("2")), None),
    RuleSpec("walmart.item_not_received_rate", "rate", _t(">", _pct("2")), None),
    # Facebook
    RuleSpec("facebook.response_rate", "rate", None, _t("<", _pct("90")), good=True),
    RuleSpec("facebook.response_time", "median", None, _t(">", 900)),
    # Service
    RuleSpec("service.first_response_time", "median", None, _t(">", 4 * 3600)),
    RuleSpec("service.resolution_time", "mean", None, _t(">", 48 * 3600)),
    RuleSpec("service.resolution_rate", "rate", None, _t("<", _pct("80")), good=True),
    RuleSpec("service.backlog", "count", None, _t(">", 20)),
    RuleSpec("service.tickets_per_agent", "mean"),
    RuleSpec("service.negative_feedback_rate", "rate", None, _t(">", _pct("10"))),
    RuleSpec("service.positive_review_rate", "rate", good=True),
    RuleSpec("service.nps", "nps", None, _t("<", 0)),
    RuleSpec("service.csat", "rate", None, _t("<", _pct("80")), good=True),
    RuleSpec("service.ces", "mean"),
    RuleSpec("service.repeat_purchase_rate", "rate", good=True),
]

RULES: dict[str, RuleSpec] = {r.rule_id: r for r in _RULE_LIST}
"""Every rule id of metrics.md, in the spec's order, with its thresholds."""


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def window_bounds(as_of: datetime, days: int) -> tuple[datetime, datetime]:
    """'A window of N days is the half-open interval [T - N*24h, T)'.

    Computed in UTC so that N*24h is elapsed time, never wall-clock days across a DST change.
    """
    end = _utc(as_of)
    return end - days * DAY, end


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: instants need an offset")
    return value.astimezone(UTC)


def _in_window(instant: datetime | None, as_of: datetime, days: int) -> bool:
    """'a record whose selecting instant is empty is outside the window.'"""
    if instant is None:
        return False
    start, end = window_bounds(as_of, days)
    return start <= instant < end


def _present(value: Any) -> bool:
    """'Empty cells mean unknown / not applicable' (None or an empty string)."""
    return value is not None and value != ""


def _seconds(delta: timedelta) -> Fraction:
    return Fraction(delta.days * 86400 + delta.seconds) + Fraction(delta.microseconds, 10**6)


def _valid_tracking(order: Record) -> bool:
    """'tracking_id present and tracking_valid true; an empty tracking_valid is not valid.'"""
    return _present(order.get("tracking_id")) and order.get("tracking_valid") is True


def _needs_reply(message: Record) -> bool:
    """'needs_reply ... default true': only an explicit false opts out."""
    return message.get("needs_reply") is not False


def _channel(message: Record) -> str:
    return message.get("channel") or "marketplace"


def _rated(event: Record, low: int, high: int) -> bool:
    rating = event.get("rating")
    return rating is not None and low <= rating <= high


def _median(values: list[Fraction]) -> Fraction:
    """'Medians of an even count are the mean of the two middle values'."""
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    if n % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def _p90(values: list[Fraction]) -> Fraction:
    """'the 90th percentile is the ⌈0.9 n⌉-th smallest value.'"""
    ordered = sorted(values)
    rank = -(-9 * len(ordered) // 10)  # ceil(9n/10), in integers
    return ordered[rank - 1]


def _status(spec: RuleSpec, value: Fraction, count: int | None = None) -> str:
    """'Breach is tested first.'"""
    if spec.breach is not None and spec.breach.holds(value, count):
        return "breach"
    if spec.warn is not None and spec.warn.holds(value, count):
        return "warn"
    return "ok"


def _sorted_ids(rows: Iterable[tuple[datetime, str]]) -> list[str]:
    """Evidence: 'oldest first' by the selecting instant, ties by id in plain string order."""
    return [ident for _, ident in sorted(rows, key=lambda r: (r[0], r[1]))]


# --------------------------------------------------------------------------------------------
# Result builders
# --------------------------------------------------------------------------------------------


def _rate_headroom(
    spec: RuleSpec, numerator: int, denominator: int, count: int | None
) -> int | None:
    """Headroom of a rate rule.

    'For status ok or warn: the largest k >= 0 such that k more items of the population turning
    bad would still not breach (denominator unchanged). For breach: minus the smallest k >= 1 such
    that k fewer bad items would no longer breach. For rules where the numerator counts good items
    (valid tracking, on-time), "turning bad" lowers the numerator. With no breach condition,
    headroom and roll-off refer to warn. Under a compound threshold (a rate and a count) each item
    added or removed moves the count part by one too.'

    Only items that are not bad yet can turn bad, so k is at most the number of good items; with
    neither condition (informational) there is nothing to measure against: None.
    """
    cond = spec.breach if spec.breach is not None else spec.warn
    if cond is None:
        return None
    n = denominator
    bad = n - numerator if spec.good else numerator

    def fails(bad_items: int, cnt: int | None) -> bool:
        good_items = n - bad_items
        value = Fraction(good_items if spec.good else bad_items, n)
        return cond.holds(value, cnt)

    def shifted(k: int) -> int | None:
        return None if count is None else count + k

    if not fails(bad, count):
        return max(k for k in range(0, n - bad + 1) if not fails(bad + k, shifted(k)))
    return -min(k for k in range(1, bad + 1) if not fails(bad - k, shifted(-k)))


def _steps_and_recovery(
    spec: RuleSpec, status: str, numerator: int, n: int, count: int | None, *, counts: bool = False
) -> tuple[dict[str, int | None], dict[str, int | None]]:
    """'Steps and recovery', read item by item.

    '`steps` maps each status worse than the current one that the rule can reach (`warn`,
    `breach`) to the smallest k >= 1 such that k more items of the population turning bad
    (denominator unchanged; for rules counting good items the numerator drops by k; under a
    compound threshold the count part moves by k too) would give at least that status; a status
    the whole population turning bad cannot reach maps to null; for count metrics k more bad
    items add k. `recovery`, for a `warn` or `breach` result, maps each better status the rule can
    give (`ok` always, `warn` when the rule has a warn threshold) to the smallest k >= 1 such that
    k fewer bad items ... would give that status or better; null if no k up to the number of bad
    items does. Whether a rule counts good items follows from its thresholds: `<` and `<=` mean
    good-counting.'
    """
    rank = {"ok": 0, "warn": 1, "breach": 2}
    if status not in rank:
        return {}, {}
    reference = spec.breach if spec.breach is not None else spec.warn
    good = reference is not None and reference.op in ("<", "<=")
    bad = n - numerator if good and not counts else numerator

    def status_with(k: int) -> int:  # k more bad items, or -k fewer
        bad_items = bad + k
        rate_part = n - bad_items if good else bad_items
        value = Fraction(bad_items) if counts else Fraction(rate_part, n)
        return rank[_status(spec, value, None if count is None else count + k)]

    more = 10_000 if counts else n - bad  # a count has no population to run out of
    steps = {
        name: next((k for k in range(1, more + 1) if status_with(k) >= rank[name]), None)
        for name, cond in (("warn", spec.warn), ("breach", spec.breach))
        if cond is not None and rank[name] > rank[status]
    }
    better = [("warn", spec.warn)] if status == "breach" else []
    recovery = {
        name: next((k for k in range(1, bad + 1) if status_with(-k) <= rank[name]), None)
        for name, cond in ([*better, ("ok", True)] if status != "ok" else [])
        if cond is not None
    }
    return steps, recovery


def _rate_result(
    spec: RuleSpec,
    items: list[Item],
    count: int | None = None,
) -> Result:
    """A rate: 'numerator (the "bad" or "good" items as the rule names them), denominator (the
    population) and value = numerator / denominator'; insufficient_data 'when the population is
    smaller than the rule's min_sample'.

    Evidence: the bad items; for good-numerator rules (informational ones included) the
    population items that are not good.
    """
    n = len(items)
    bad = sum(1 for _, _, is_bad in items if is_bad)
    numerator = n - bad if spec.good else bad
    if spec.compound and count is None:
        count = bad
    evidence = _sorted_ids((t, i) for t, i, is_bad in items if is_bad)
    result: Result = {
        "numerator": numerator,
        "denominator": n,
        "evidence": evidence,
    }
    if spec.compound:
        result["count"] = count
    if n < spec.min_sample:
        result.update(status="insufficient_data", value=None, headroom=None, steps={}, recovery={})
        return result
    value = Fraction(numerator, n)
    status = _status(spec, value, count)
    steps, recovery = _steps_and_recovery(spec, status, numerator, n, count)
    result.update(
        status=status,
        value=value,
        headroom=_rate_headroom(spec, numerator, n, count),
        steps=steps,
        recovery=recovery,
    )
    return result


def _sample_result(
    spec: RuleSpec,
    samples: list[Sample],
    aggregate: Callable[[list[Fraction]], Fraction],
    is_bad: Callable[[Fraction], bool] | None = None,
) -> Result:
    """Means, medians and NPS: 'headroom, roll-off and numerator are null, and denominator is the
    sample size.' Evidence: the samples whose own value fails the rule's threshold comparison."""
    n = len(samples)
    if is_bad is None:
        cond = spec.breach if spec.breach is not None else spec.warn
        is_bad = (lambda v: cond.holds(v)) if cond is not None else (lambda v: False)
    evidence = _sorted_ids((t, i) for t, i, v in samples if is_bad(v))
    result: Result = {
        "numerator": None,
        "denominator": n,
        "headroom": None,
        "steps": {},
        "recovery": {},
        "evidence": evidence,
    }
    if n < spec.min_sample:
        result.update(status="insufficient_data", value=None)
        return result
    value = aggregate([v for _, _, v in samples])
    result.update(status=_status(spec, value), value=value)
    return result


def _mean(values: list[Fraction]) -> Fraction:
    return sum(values, Fraction(0)) / len(values)


# --------------------------------------------------------------------------------------------
# One account's data, as known at T
# --------------------------------------------------------------------------------------------


def _normalise(record: Record, as_of: datetime) -> Record:
    """Copy a record with every instant in UTC and every happening at or after T blanked.

    'Cancellation, refund, shipment, delivery, response and resolution are decided by those
    instants alone: an empty one means it has not happened', and such an instant 'at or after T has
    not happened yet'.
    """
    out = dict(record)
    for name in INSTANT_FIELDS:
        value = out.get(name)
        if value is not None:
            out[name] = _utc(value)
    for name in HAPPENING_FIELDS:
        value = out.get(name)
        if value is not None and value >= as_of:
            out[name] = None
    return out


def _last_wins(records: Iterable[Record], key: str) -> list[Record]:
    """'a repeated key (account_id with order_id, message_id or event_id) replaces the earlier
    row: last wins.'"""
    by_key: dict[tuple[Any, Any], Record] = {}
    for record in records:
        by_key[(record.get("account_id"), record.get(key))] = record
    return list(by_key.values())


class Account:
    """One account's orders, messages and events as known at T."""

    def __init__(
        self,
        account: Record,
        orders: list[Record],
        messages: list[Record],
        events: list[Record],
        as_of: datetime,
    ) -> None:
        self.account = account
        self.T = as_of
        # 'orders with purchased_at >= T, messages with sent_at >= T and events with occurred_at
        # >= T do not exist yet'
        self.orders = [
            o for o in orders if o.get("purchased_at") is not None and o["purchased_at"] < as_of
        ]
        self.messages = [
            m for m in messages if m.get("sent_at") is not None and m["sent_at"] < as_of
        ]
        # 'An event with status withdrawn or removed is ignored by every rule'
        self.events = [
            e
            for e in events
            if e.get("occurred_at") is not None
            and e["occurred_at"] < as_of
            and e.get("status") not in ("withdrawn", "removed")
        ]
        self.events_by_order: dict[str, list[Record]] = defaultdict(list)
        for event in self.events:
            if _present(event.get("order_id")):
                self.events_by_order[event["order_id"]].append(event)
        self.threads: dict[str, list[Record]] = defaultdict(list)
        for message in self.messages:
            self.threads[message["thread_id"]].append(message)
        for thread in self.threads.values():
            thread.sort(key=lambda m: (m["sent_at"], m["message_id"]))

    # ---- orders -----------------------------------------------------------------------------

    def has_event(self, order: Record, predicate: Callable[[Record], bool]) -> bool:
        """'An order "with" an event of some kind has at least one such event known at T'."""
        return any(predicate(e) for e in self.events_by_order.get(order["order_id"], []))

    def currency(self) -> str | None:
        """'An account's currency is the most frequent non-empty currency of its orders (tie:
        alphabetically first)', 'taken from all of the account's orders known at T'."""
        counts = Counter(o["currency"] for o in self.orders if _present(o.get("currency")))
        if not counts:
            return None
        return min(counts, key=lambda c: (-counts[c], c))

    def earliest_purchase(self) -> datetime | None:
        return min((o["purchased_at"] for o in self.orders), default=None)

    def orders_in(
        self, days: int, field: str = "purchased_at", fulfillment: str | None = None
    ) -> list[Record]:
        return [
            o
            for o in self.orders
            if _in_window(o.get(field), self.T, days)
            and (fulfillment is None or o.get("fulfillment") == fulfillment)
        ]

    # ---- messages ---------------------------------------------------------------------------

    def reply(self, message: Record) -> Record | None:
        """'Its reply is the first outbound message of the same thread sent strictly after it and
        before T, that is not automated' (so one reply answers every earlier unanswered inbound
        message of its thread)."""
        for other in self.threads[message["thread_id"]]:
            if (
                other["direction"] == "out"
                and other["sent_at"] > message["sent_at"]
                and other.get("automated") is not True
            ):
                return other
        return None

    def resolution(self, thread_id: str) -> datetime | None:
        """'A thread's resolution is its latest resolved_at before T on any of its messages',
        'known only from messages known at T'."""
        return max(
            (m["resolved_at"] for m in self.threads[thread_id] if m.get("resolved_at") is not None),
            default=None,
        )

    def inbound(self, days: int) -> list[Record]:
        """'A message rule counts an inbound message only if needs_reply is not false'."""
        return [
            m
            for m in self.messages
            if m["direction"] == "in" and _needs_reply(m) and _in_window(m["sent_at"], self.T, days)
        ]

    def response_items(self, messages: list[Record], hours: int) -> list[Item]:
        """'inbound messages, answered or older than N h; good: reply within N h'.

        '"Answered or older than N h" means answered, or sent at or before T - N h. "Within N h"
        means a delay of at most N h.'
        """
        limit = hours * HOUR
        items: list[Item] = []
        for m in messages:
            reply = self.reply(m)
            if reply is None and not m["sent_at"] <= self.T - limit:
                continue
            good = reply is not None and reply["sent_at"] - m["sent_at"] <= limit
            items.append((m["sent_at"], m["message_id"], not good))
        return items


# --------------------------------------------------------------------------------------------
# Rule packs
# --------------------------------------------------------------------------------------------


def _is_defect(event: Record) -> bool:
    """'An order defect is an event of kind feedback rated 1–2, a_to_z_claim or chargeback.'"""
    kind = event.get("kind")
    return (kind == "feedback" and _rated(event, 1, 2)) or kind in ("a_to_z_claim", "chargeback")


def _cancelled(order: Record) -> bool:
    return order.get("cancelled_at") is not None


def _cancelled_by(order: Record, *who: str) -> bool:
    return _cancelled(order) and order.get("cancelled_by") in who


def _order_items(orders: list[Record], field: str, bad: Callable[[Record], bool]) -> list[Item]:
    return [(o[field], o["order_id"], bad(o)) for o in orders]


def _amazon(acc: Account) -> dict[str, Result]:
    T = acc.T
    out: dict[str, Result] = {}
    defect = lambda o: acc.has_event(o, _is_defect)  # noqa: E731
    out["amazon.order_defect_rate"] = _rate_result(
        RULES["amazon.order_defect_rate"],
        _order_items(acc.orders_in(60, fulfillment="merchant"), "purchased_at", defect),
    )
    out["amazon.order_defect_rate_fba"] = _rate_result(
        RULES["amazon.order_defect_rate_fba"],
        _order_items(acc.orders_in(60, fulfillment="marketplace"), "purchased_at", defect),
    )

    def late(o: Record) -> bool:
        """'not shipped before T, or shipped_at > ship_by'."""
        return o.get("shipped_at") is None or o["shipped_at"] > o["ship_by"]

    for rule_id, days in (("amazon.late_shipment_rate", 30), ("amazon.late_shipment_rate_10d", 10)):
        population = [o for o in acc.orders_in(days, "ship_by", "merchant") if not _cancelled(o)]
        out[rule_id] = _rate_result(RULES[rule_id], _order_items(population, "ship_by", late))

    out["amazon.cancellation_rate"] = _rate_result(
        RULES["amazon.cancellation_rate"],
        _order_items(
            acc.orders_in(7, fulfillment="merchant"),
            "purchased_at",
            lambda o: _cancelled_by(o, "seller", "marketplace"),
        ),
    )
    out["amazon.valid_tracking_rate"] = _rate_result(
        RULES["amazon.valid_tracking_rate"],
        _order_items(
            acc.orders_in(30, "shipped_at", "merchant"),
            "shipped_at",
            lambda o: not _valid_tracking(o),
        ),
    )
    out["amazon.on_time_delivery_rate"] = _rate_result(
        RULES["amazon.on_time_delivery_rate"], _on_time_items(acc, 14)
    )
    out["amazon.response_within_24h"] = _rate_result(
        RULES["amazon.response_within_24h"], acc.response_items(acc.inbound(30), 24)
    )

    items: list[Item] = []
    for e in acc.events:
        if e.get("kind") != "return_request" or not _in_window(e["occurred_at"], T, 30):
            continue
        responded = e.get("responded_at")
        # 'responded before T or raised at or before T - 48h'
        if responded is None and not e["occurred_at"] <= T - 48 * HOUR:
            continue
        good = responded is not None and responded - e["occurred_at"] <= 48 * HOUR
        items.append((e["occurred_at"], e["event_id"], not good))
    out["amazon.return_response_48h"] = _rate_result(RULES["amazon.return_response_48h"], items)
    return out


def _on_time_items(acc: Account, days: int) -> list[Item]:
    """'orders shipped before T, not cancelled before T, with valid tracking' selected by
    deliver_by; 'good: delivered before T and delivered_at <= deliver_by'. Merchant orders only."""
    population = [
        o
        for o in acc.orders_in(days, "deliver_by", "merchant")
        if o.get("shipped_at") is not None and not _cancelled(o) and _valid_tracking(o)
    ]
    return _order_items(
        population,
        "deliver_by",
        lambda o: not (o.get("delivered_at") is not None and o["delivered_at"] <= o["deliver_by"]),
    )


def ebay_window_days(acc: Account) -> int:
    """'90 d if at least 400 orders (any status, any fulfillment) have purchased_at in
    [T - 90 d, T), else 365 d'."""
    return 90 if len(acc.orders_in(90)) >= 400 else 365


def _ebay(acc: Account) -> dict[str, Result]:
    days = ebay_window_days(acc)
    orders = acc.orders_in(days)
    out: dict[str, Result] = {}

    def unresolved_case(o: Record) -> bool:
        """'an inr_case or snad_case whose closed_without_seller_resolution is true'."""
        return acc.has_event(
            o,
            lambda e: (
                e.get("kind") in ("inr_case", "snad_case")
                and e.get("closed_without_seller_resolution") is True
            ),
        )

    def defect(o: Record) -> bool:
        return _cancelled_by(o, "seller") or unresolved_case(o)

    items = _order_items(orders, "purchased_at", defect)
    # 'distinct buyers for the transaction defect rate (an empty buyer_id counts as a buyer of its
    # own)'
    buyers = {
        ("buyer", o["buyer_id"]) if _present(o.get("buyer_id")) else ("order", o["order_id"])
        for o in orders
        if defect(o)
    }
    out["ebay.transaction_defect_rate"] = _rate_result(
        RULES["ebay.transaction_defect_rate"], items, count=len(buyers)
    )
    out["ebay.cases_closed_without_resolution"] = _rate_result(
        RULES["ebay.cases_closed_without_resolution"],
        _order_items(orders, "purchased_at", unresolved_case),
    )

    def late(o: Record) -> bool:
        """'delivered before T with delivered_at > deliver_by, unless the order has valid
        tracking and shipped_at <= ship_by; an empty deliver_by is never late'; 'An empty ship_by
        on a shipped eBay order makes shipped_at <= ship_by false.'"""
        if o.get("delivered_at") is None or o.get("deliver_by") is None:
            return False
        if not o["delivered_at"] > o["deliver_by"]:
            return False
        on_time_ship = o.get("ship_by") is not None and o["shipped_at"] <= o["ship_by"]
        return not (_valid_tracking(o) and on_time_ship)

    shipped = [o for o in orders if o.get("shipped_at") is not None and not _cancelled(o)]
    out["ebay.late_shipment_rate"] = _rate_result(
        RULES["ebay.late_shipment_rate"], _order_items(shipped, "purchased_at", late)
    )

    due = [
        o
        for o in orders
        if not _cancelled(o) and o.get("ship_by") is not None and o["ship_by"] < acc.T
    ]

    def uploaded(o: Record) -> bool:
        """'good: valid tracking and shipped_at <= ship_by'."""
        return (
            _valid_tracking(o)
            and o.get("shipped_at") is not None
            and o["shipped_at"] <= o["ship_by"]
        )

    out["ebay.tracking_uploaded"] = _rate_result(
        RULES["ebay.tracking_uploaded"],
        _order_items(due, "purchased_at", lambda o: not uploaded(o)),
    )
    return out


def ebay_level(acc: Account, results: dict[str, Result]) -> str:
    """'below_standard if any ebay.* rule breaches; top_rated if no ebay.* rule is warn or breach
    (insufficient_data does not block), at least 100 orders purchased in [T - 365 d, T) and not
    cancelled before T, their Sales at least 1,000, and the earliest purchased_at of the account
    at or before T - 90 d; otherwise above_standard.'"""
    statuses = [r["status"] for rid, r in results.items() if rid.startswith("ebay.")]
    if "breach" in statuses:
        return "below_standard"
    if "warn" in statuses:
        return "above_standard"
    kept = [o for o in acc.orders_in(365) if not _cancelled(o)]
    sales = sum((o["total"] for o in kept if o.get("total") is not None), Decimal(0))
    earliest = acc.earliest_purchase()
    if len(kept) >= 100 and sales >= 1000 and earliest is not None and earliest <= acc.T - 90 * DAY:
        return "top_rated"
    return "above_standard"


def etsy_unmet_conditions(acc: Account) -> list[str]:
    """Etsy eligibility: 'orders with purchased_at in the window and not cancelled before T number
    at least 5, their Sales reach the threshold for the account's currency (USD 300, GBP 200, EUR
    250, CAD or AUD 350, any other 300), and the account's earliest purchased_at is at or before
    T - 90 d'. Returns the unmet conditions (empty: eligible)."""
    kept = [o for o in acc.orders_in(90) if not _cancelled(o)]
    unmet: list[str] = []
    if len(kept) < 5:
        unmet.append("orders")
    sales = sum((o["total"] for o in kept if o.get("total") is not None), Decimal(0))
    currency = acc.currency()
    threshold = ETSY_SALES_THRESHOLD.get(currency or "", ETSY_OTHER_SALES_THRESHOLD)
    if sales < threshold:
        unmet.append("sales")
    earliest = acc.earliest_purchase()
    if earliest is None or earliest > acc.T - 90 * DAY:
        unmet.append("history")
    return unmet


def _opening_message(thread: list[Record]) -> Record:
    """'A thread's opening message is its earliest message known at T (ties: inbound first, then
    by message_id)'."""
    return min(thread, key=lambda m: (m["sent_at"], m["direction"] != "in", m["message_id"]))


def _etsy(acc: Account) -> dict[str, Result]:
    T = acc.T
    out: dict[str, Result] = {}
    openings = []
    for thread in acc.threads.values():
        first = _opening_message(thread)
        # 'The thread counts only if its opening message is inbound and its needs_reply is not
        # false; a later inbound message never stands in for it.'
        if (
            first["direction"] == "in"
            and _needs_reply(first)
            and _in_window(first["sent_at"], T, 90)
        ):
            openings.append(first)
    out["etsy.message_response_24h"] = _rate_result(
        RULES["etsy.message_response_24h"], acc.response_items(openings, 24)
    )

    usd = acc.currency() == "USD"

    def dispatched(o: Record) -> bool:
        """'good: shipped_at <= ship_by and, for an account whose currency is USD, tracking_id
        present'."""
        return (
            o.get("shipped_at") is not None
            and o["shipped_at"] <= o["ship_by"]
            and (not usd or _present(o.get("tracking_id")))
        )

    population = [o for o in acc.orders_in(90, "ship_by") if not _cancelled(o)]
    out["etsy.on_time_dispatch_with_tracking"] = _rate_result(
        RULES["etsy.on_time_dispatch_with_tracking"],
        _order_items(population, "ship_by", lambda o: not dispatched(o)),
    )

    reviews: list[Sample] = [
        (e["occurred_at"], e["event_id"], Fraction(e["rating"]))
        for e in acc.events
        if e.get("kind") == "review"
        and e.get("rating") is not None
        and _in_window(e["occurred_at"], T, 90)
    ]
    out["etsy.average_review_rating"] = _sample_result(
        RULES["etsy.average_review_rating"], reviews, _mean
    )

    if etsy_unmet_conditions(acc):
        # 'every etsy.* rule is insufficient_data with value null, numerator and denominator
        # still given'
        for result in out.values():
            result.update(
                status="insufficient_data", value=None, headroom=None, steps={}, recovery={}
            )
    return out


def _walmart(acc: Account) -> dict[str, Result]:
    out: dict[str, Result] = {}
    out["walmart.on_time_delivery_rate"] = _rate_result(
        RULES["walmart.on_time_delivery_rate"], _on_time_items(acc, 30)
    )
    out["walmart.valid_tracking_rate"] = _rate_result(
        RULES["walmart.valid_tracking_rate"],
        _order_items(
            acc.orders_in(30, "shipped_at", "merchant"),
            "shipped_at",
            lambda o: not _valid_tracking(o),
        ),
    )
    out["walmart.cancellation_rate"] = _rate_result(
        RULES["walmart.cancellation_rate"],
        _order_items(
            acc.orders_in(30, fulfillment="merchant"),
            "purchased_at",
            lambda o: _cancelled_by(o, "seller", "marketplace"),
        ),
    )
    out["walmart.refund_rate"] = _rate_result(
        RULES["walmart.refund_rate"],
        _order_items(acc.orders_in(30), "purchased_at", lambda o: o.get("refunded_at") is not None),
    )
    last60 = acc.orders_in(60)
    out["walmart.return_rate"] = _rate_result(
        RULES["walmart.return_rate"],
        _order_items(
            last60,
            "purchased_at",
            lambda o: acc.has_event(o, lambda e: e.get("kind") == "return_request"),
        ),
    )
    out["walmart.seller_response_48h"] = _rate_result(
        RULES["walmart.seller_response_48h"], acc.response_items(acc.inbound(30), 48)
    )
    out["walmart.negative_feedback_rate"] = _rate_result(
        RULES["walmart.negative_feedback_rate"],
        _order_items(
            last60,
            "purchased_at",
            lambda o: acc.has_event(
                o, lambda e: e.get("kind") in ("feedback", "review") and _rated(e, 1, 2)
            ),
        ),
    )
    out["walmart.item_not_received_rate"] = _rate_result(
        RULES["walmart.item_not_received_rate"],
        _order_items(
            last60,
            "purchased_at",
            lambda o: acc.has_event(o, lambda e: e.get("kind") == "inr_case"),
        ),
    )
    return out


def facebook_new_messages(acc: Account) -> list[Record]:
    """'new messages: inbound messages with channel = messenger, sent_at in the window, and no
    message of their thread (any direction or channel) in the 24 h before them.'

    '"In the 24 h before" is [t - 24 h, t): a message exactly 24 h earlier breaks the silence. An
    inbound message with needs_reply false is never a new message itself, but it breaks the
    silence.' 'Two messenger messages at the same instant do not break each other's silence'.
    """
    new = []
    for m in acc.inbound(7):
        if _channel(m) != "messenger":
            continue
        t = m["sent_at"]
        if any(t - DAY <= other["sent_at"] < t for other in acc.threads[m["thread_id"]]):
            continue
        new.append(m)
    return new


def _facebook(acc: Account) -> dict[str, Result]:
    new = facebook_new_messages(acc)
    items: list[Item] = []
    delays: list[Sample] = []
    for m in new:
        reply = acc.reply(m)
        items.append((m["sent_at"], m["message_id"], reply is None))
        if reply is not None:
            delay = _seconds(reply["sent_at"] - m["sent_at"])
            delays.append((m["sent_at"], m["message_id"], delay))
    return {
        "facebook.response_rate": _rate_result(RULES["facebook.response_rate"], items),
        "facebook.response_time": _sample_result(RULES["facebook.response_time"], delays, _median),
    }


def _service(acc: Account) -> dict[str, Result]:
    T = acc.T
    days = 30
    out: dict[str, Result] = {}

    # First response: 'takes the thread's earliest inbound message (ties by message_id) whatever
    # its needs_reply; the thread is in the sample only if that message needs a reply and is
    # answered.'
    first_delays: list[Sample] = []
    for thread_id, thread in acc.threads.items():
        inbound = [m for m in thread if m["direction"] == "in"]
        if not inbound:
            continue
        first_in = min(inbound, key=lambda m: (m["sent_at"], m["message_id"]))
        if not _in_window(first_in["sent_at"], T, days) or not _needs_reply(first_in):
            continue
        reply = acc.reply(first_in)
        if reply is not None:
            first_delays.append(
                (first_in["sent_at"], thread_id, _seconds(reply["sent_at"] - first_in["sent_at"]))
            )
    frt = _sample_result(RULES["service.first_response_time"], first_delays, _median)
    frt["p90"] = _p90([v for _, _, v in first_delays]) if first_delays else None
    out["service.first_response_time"] = frt

    resolution_times: list[Sample] = []
    opened: list[Item] = []
    backlog_population: list[Item] = []
    for thread_id, thread in acc.threads.items():
        resolved = acc.resolution(thread_id)
        first_at = thread[0]["sent_at"]
        # 'threads resolved in the window: mean time from the thread's first message to its
        # resolution'
        if _in_window(resolved, T, days):
            assert resolved is not None
            resolution_times.append((resolved, thread_id, _seconds(resolved - first_at)))
        # 'threads opened in the window; good: resolved before T'
        if _in_window(first_at, T, days):
            opened.append((first_at, thread_id, resolved is None))
        # Backlog: 'A thread's latest inbound message is the last by sent_at (ties: greatest
        # message_id) whatever its needs_reply; "a later resolution" is a resolution strictly
        # after its sent_at and before T.'
        inbound = [m for m in thread if m["direction"] == "in"]
        if inbound:
            last_in = max(inbound, key=lambda m: (m["sent_at"], m["message_id"]))
            if _in_window(last_in["sent_at"], T, days):
                waiting = (
                    _needs_reply(last_in)
                    and acc.reply(last_in) is None
                    and not (resolved is not None and resolved > last_in["sent_at"])
                )
                backlog_population.append((last_in["sent_at"], thread_id, waiting))
    out["service.resolution_time"] = _sample_result(
        RULES["service.resolution_time"], resolution_times, _mean
    )
    out["service.resolution_rate"] = _rate_result(RULES["service.resolution_rate"], opened)
    out["service.backlog"] = _backlog_result(backlog_population)

    # 'per non-empty agent: distinct threads with its outbound messages (a thread counts for each
    # agent); value = mean over agents'; 'automated outbound messages count for their agent'.
    per_agent: dict[str, set[str]] = defaultdict(set)
    for m in acc.messages:
        if (
            m["direction"] == "out"
            and _present(m.get("agent"))
            and _in_window(m["sent_at"], T, days)
        ):
            per_agent[m["agent"]].add(m["thread_id"])
    agents = len(per_agent)
    tpa: Result = {
        "numerator": None,
        "denominator": agents,
        "headroom": None,
        "steps": {},
        "recovery": {},
        "evidence": sorted(per_agent, key=lambda a: (-len(per_agent[a]), a)),
    }
    if agents:
        tpa.update(status="ok", value=Fraction(sum(len(s) for s in per_agent.values()), agents))
    else:
        tpa.update(status="insufficient_data", value=None)
    out["service.tickets_per_agent"] = tpa

    rated = [
        e
        for e in acc.events
        if e.get("kind") in ("feedback", "review")
        and e.get("rating") is not None
        and _in_window(e["occurred_at"], T, days)
    ]
    out["service.negative_feedback_rate"] = _rate_result(
        RULES["service.negative_feedback_rate"],
        [(e["occurred_at"], e["event_id"], _rated(e, 1, 2)) for e in rated],
    )

    positive = lambda o: acc.has_event(  # noqa: E731
        o, lambda e: e.get("kind") in ("feedback", "review") and _rated(e, 4, 5)
    )
    out["service.positive_review_rate"] = _rate_result(
        RULES["service.positive_review_rate"],
        _order_items(acc.orders_in(days), "purchased_at", lambda o: not positive(o)),
    )

    def surveys(name: str) -> list[Record]:
        return [
            e
            for e in acc.events
            if e.get("kind") == "survey"
            and e.get("survey") == name
            and e.get("rating") is not None
            and _in_window(e["occurred_at"], T, days)
        ]

    def nps(values: list[Fraction]) -> Fraction:
        """'% promoters (9–10) − % detractors (0–6), from −100 to 100'."""
        promoters = sum(1 for v in values if 9 <= v <= 10)
        detractors = sum(1 for v in values if 0 <= v <= 6)
        return Fraction(100 * (promoters - detractors), len(values))

    out["service.nps"] = _sample_result(
        RULES["service.nps"],
        [(e["occurred_at"], e["event_id"], Fraction(e["rating"])) for e in surveys("nps")],
        nps,
        is_bad=lambda v: 0 <= v <= 6,
    )
    out["service.csat"] = _rate_result(
        RULES["service.csat"],
        [(e["occurred_at"], e["event_id"], not _rated(e, 4, 5)) for e in surveys("csat")],
    )
    out["service.ces"] = _sample_result(
        RULES["service.ces"],
        [(e["occurred_at"], e["event_id"], Fraction(e["rating"])) for e in surveys("ces")],
        _mean,
    )

    # 'of buyers (non-empty buyer_id) with an order in the window, the share with at least 2
    # orders purchased in [T - 365 d, T)'; orders of any status count.
    year_counts = Counter(o["buyer_id"] for o in acc.orders_in(365) if _present(o.get("buyer_id")))
    first_in_window: dict[str, datetime] = {}
    for o in acc.orders_in(days):
        if _present(o.get("buyer_id")):
            b = o["buyer_id"]
            first_in_window[b] = min(first_in_window.get(b, o["purchased_at"]), o["purchased_at"])
    out["service.repeat_purchase_rate"] = _rate_result(
        RULES["service.repeat_purchase_rate"],
        [(t, b, year_counts[b] < 2) for b, t in first_in_window.items()],
    )
    return out


def _backlog_result(population: list[Item]) -> Result:
    """Count metric: 'numerator = value = the count; denominator = threads whose latest inbound
    message is in the window; insufficient_data when there is none'; 'Count metrics: headroom =
    the threshold minus the value.'"""
    spec = RULES["service.backlog"]
    count = sum(1 for _, _, waiting in population if waiting)
    result: Result = {
        "numerator": count,
        "denominator": len(population),
        "evidence": _sorted_ids((t, i) for t, i, waiting in population if waiting),
    }
    if len(population) < spec.min_sample:
        result.update(status="insufficient_data", value=None, headroom=None, steps={}, recovery={})
        return result
    cond = spec.breach if spec.breach is not None else spec.warn
    assert cond is not None
    value = Fraction(count)
    headroom = cond.limit - value
    assert headroom.denominator == 1
    status = _status(spec, value)
    steps, recovery = _steps_and_recovery(spec, status, count, len(population), None, counts=True)
    result.update(
        status=status, value=value, headroom=int(headroom), steps=steps, recovery=recovery
    )
    return result


PACKS: dict[str, Callable[[Account], dict[str, Result]]] = {
    "amazon": _amazon,
    "ebay": _ebay,
    "etsy": _etsy,
    "walmart": _walmart,
    "facebook": _facebook,
}


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def evaluate(
    accounts: list[dict],
    orders: list[dict],
    messages: list[dict],
    events: list[dict],
    as_of: datetime,
) -> dict[str, dict]:
    """Evaluate every account at ``as_of`` (T).

    'A marketplace's pack applies to the accounts of that marketplace; service applies to every
    account.' Returns ``{account_id: {"status", "results", and "level" for eBay accounts}}``.
    """
    T = _utc(as_of)
    by_account: dict[str, dict[str, list[Record]]] = {}
    account_rows = {a["account_id"]: a for a in accounts}  # last wins
    for account_id in account_rows:
        by_account[account_id] = {"orders": [], "messages": [], "events": []}
    for name, rows, key in (
        ("orders", orders, "order_id"),
        ("messages", messages, "message_id"),
        ("events", events, "event_id"),
    ):
        for row in _last_wins(rows, key):
            if row.get("account_id") in by_account:
                by_account[row["account_id"]][name].append(_normalise(row, T))

    report: dict[str, dict] = {}
    for account_id, account in account_rows.items():
        data = by_account[account_id]
        acc = Account(account, data["orders"], data["messages"], data["events"], T)
        marketplace = account.get("marketplace")
        results: dict[str, Result] = {}
        if marketplace in PACKS:
            results.update(PACKS[marketplace](acc))
        results.update(_service(acc))
        worst = max((r["status"] for r in results.values()), key=STATUS_RANK.__getitem__)
        entry: dict[str, Any] = {"status": worst, "results": results}
        if marketplace == "ebay":
            entry["level"] = ebay_level(acc, results)
        report[account_id] = entry
    return report
