"""Hand-computed unit tests of the reference oracle (tests/oracle.py).

Every expected value below was worked out by hand from /work/shared/spec/metrics.md; the comments
show the arithmetic. None of them re-runs the oracle to obtain its expectation.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from oracle import RULES, _median, _p90, evaluate, window_bounds  # noqa: E402

T = datetime(2026, 5, 1, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
S = timedelta(seconds=1)


def order(oid: str, purchased: datetime, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "account_id": "a",
        "order_id": oid,
        "purchased_at": purchased,
        "status": "shipped",
        "fulfillment": "merchant",
        "ship_by": None,
        "shipped_at": None,
        "deliver_by": None,
        "delivered_at": None,
        "tracking_id": None,
        "tracking_valid": None,
        "cancelled_at": None,
        "cancelled_by": None,
        "refunded_at": None,
        "buyer_id": None,
        "total": None,
        "currency": None,
    }
    record.update(fields)
    return record


def msg(mid: str, thread: str, sent: datetime, direction: str = "in", **fields: Any) -> dict:
    record: dict[str, Any] = {
        "account_id": "a",
        "message_id": mid,
        "thread_id": thread,
        "sent_at": sent,
        "direction": direction,
        "order_id": None,
        "needs_reply": None,
        "channel": None,
        "resolved_at": None,
        "agent": None,
        "automated": None,
    }
    record.update(fields)
    return record


def event(
    eid: str, kind: str, occurred: datetime, order_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "account_id": "a",
        "event_id": eid,
        "order_id": order_id,
        "kind": kind,
        "occurred_at": occurred,
        "rating": None,
        "survey": None,
        "status": None,
        "closed_without_seller_resolution": None,
        "responded_at": None,
    }
    record.update(fields)
    return record


def run(
    marketplace: str,
    orders: list | None = None,
    messages: list | None = None,
    events: list | None = None,
    as_of: datetime = T,
) -> dict[str, Any]:
    report = evaluate(
        [{"account_id": "a", "marketplace": marketplace}],
        orders or [],
        messages or [],
        events or [],
        as_of,
    )
    return report["a"]


def result(marketplace: str, rule: str, **kw: Any) -> dict[str, Any]:
    return run(marketplace, **kw)["results"][rule]


def plain(prefix: str, n: int, start: datetime, step: timedelta = H, **fields: Any) -> list[dict]:
    return [order(f"{prefix}{i:03d}", start + i * step, **fields) for i in range(n)]


# ---------------------------------------------------------------------------------------------
# Table and helpers
# ---------------------------------------------------------------------------------------------


def test_rules_lists_every_rule_id_of_the_spec() -> None:
    assert len(RULES) == 9 + 4 + 3 + 8 + 2 + 11
    assert RULES["amazon.order_defect_rate"].warn.holds(Fraction(75, 10000))
    assert not RULES["amazon.order_defect_rate"].warn.holds(Fraction(74, 10000))
    assert RULES["ebay.cases_closed_without_resolution"].warn is None
    assert RULES["service.ces"].breach is None and RULES["service.ces"].warn is None


def test_window_bounds_are_elapsed_24h_days() -> None:
    assert window_bounds(T, 60) == (datetime(2026, 3, 2, tzinfo=UTC), T)
    # 2026-03-10 12:00 EDT = 16:00Z; minus 7*24h = 2026-03-03 16:00Z (11:00 EST), not 12:00 EST.
    ny = datetime(2026, 3, 10, 12, tzinfo=ZoneInfo("America/New_York"))
    assert window_bounds(ny, 7) == (
        datetime(2026, 3, 3, 16, tzinfo=UTC),
        datetime(2026, 3, 10, 16, tzinfo=UTC),
    )


def test_median_and_p90() -> None:
    assert _median([Fraction(3), Fraction(1), Fraction(2)]) == 2
    assert _median([Fraction(4), Fraction(1), Fraction(2), Fraction(3)]) == Fraction(5, 2)
    ten = [Fraction(v) for v in range(10, 0, -1)]
    assert _p90(ten) == 9  # ceil(0.9*10) = 9th smallest
    assert _p90([Fraction(v) for v in range(1, 12)]) == 10  # ceil(9.9) = 10th smallest of 11
    assert _p90([Fraction(7)]) == 7


# ---------------------------------------------------------------------------------------------
# Amazon
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "status", "headroom"),
    [
        (2, "ok", 1),  # 2/400 = 0.5%; 3/400 = 0.75% is still not >= 1%
        (3, "warn", 0),  # 3/400 = 0.75% >= 0.75%; 4/400 = 1% would breach
        (4, "breach", -1),  # 4/400 is exactly 1%; one fewer (0.75%) no longer breaches
        (6, "breach", -3),  # 6/400 = 1.5%; needs 3/400
    ],
)
def test_order_defect_rate_thresholds_and_headroom(bad: int, status: str, headroom: int) -> None:
    orders = plain("o", 400, T - 50 * D, timedelta(minutes=1))
    kinds = [
        ("feedback", 1),
        ("a_to_z_claim", None),
        ("chargeback", None),
        ("feedback", 2),
        ("chargeback", None),
        ("a_to_z_claim", None),
    ]
    events = [
        event(f"e{i}", kind, T - D, f"o{10 * (i + 1):03d}", rating=rating)
        for i, (kind, rating) in enumerate(kinds[:bad])
    ]
    r = result("amazon", "amazon.order_defect_rate", orders=orders, events=events)
    assert (r["status"], r["numerator"], r["denominator"]) == (status, bad, 400)
    assert r["value"] == Fraction(bad, 400)
    assert r["headroom"] == headroom
    assert r["evidence"] == [f"o{10 * (i + 1):03d}" for i in range(bad)]


def test_odr_window_edges_and_instants_at_t() -> None:
    orders = [
        order("edge", T - 60 * D),  # exactly T - 60 d: included
        order("early", T - 60 * D - timedelta(microseconds=1)),  # excluded
        order("now", T),  # purchased at T: does not exist yet
        order("mid", T - D),
    ]
    events = [
        event("e1", "chargeback", T - 59 * D, "edge"),
        event("e2", "chargeback", T - 59 * D, "early"),
        event("e3", "chargeback", T - H, "now"),
        event("e4", "chargeback", T, "mid"),  # occurred at T: not known yet
    ]
    r = result("amazon", "amazon.order_defect_rate", orders=orders, events=events)
    assert (r["numerator"], r["denominator"], r["evidence"]) == (1, 2, ["edge"])
    assert r["value"] == Fraction(1, 2)


def test_non_utc_offsets_compare_as_instants() -> None:
    plus2, minus4, minus5 = (timezone(timedelta(hours=h)) for h in (2, -4, -5))
    as_of = datetime(2026, 5, 1, 9, tzinfo=timezone(timedelta(hours=9)))  # = T
    orders = [
        order("x", datetime(2026, 3, 1, 20, tzinfo=minus4)),  # 03-02 00:00Z = T - 60 d: in
        order("y", datetime(2026, 3, 2, 1, tzinfo=plus2)),  # 03-01 23:00Z: out
        order("z", datetime(2026, 5, 1, 1, 30, tzinfo=plus2)),  # 04-30 23:30Z: in
        order("w", datetime(2026, 4, 30, 20, tzinfo=minus5)),  # 05-01 01:00Z: after T
    ]
    india = timezone(timedelta(hours=5, minutes=30))
    events = [
        event("e1", "feedback", datetime(2026, 3, 5, tzinfo=india), "x", rating=1),
        event("e2", "chargeback", datetime(2026, 3, 3, tzinfo=UTC), "y"),
    ]
    r = result("amazon", "amazon.order_defect_rate", orders=orders, events=events, as_of=as_of)
    assert (r["numerator"], r["denominator"], r["evidence"]) == (1, 2, ["x"])


def test_odr_defects_withdrawn_removed_fba_and_counted_once() -> None:
    orders = [
        order("a1", T - 10 * D),
        order("a2", T - 9 * D),
        order("a3", T - 8 * D),
        order("a4", T - 7 * D),
        order("a5", T - 6 * D),
        order("f1", T - 5 * D, fulfillment="marketplace"),
        order("f2", T - 4 * D, fulfillment="marketplace"),
    ]
    events = [
        event("e1", "feedback", T - D, "a1", rating=1, status="withdrawn"),  # ignored
        event("e2", "a_to_z_claim", T - D, "a2", status="removed"),  # ignored
        event("e3", "feedback", T - D, "a3", rating=3),  # not a defect
        event("e4", "chargeback", T - D, "a4", status="denied"),  # defect (status counts)
        event("e5", "a_to_z_claim", T - D, "a4"),  # same order: counts once
        event("e6", "feedback", T - D, "f2", rating=2),
        event("e7", "return_request", T - D, "a5"),  # not a defect kind
    ]
    res = run("amazon", orders=orders, events=events)["results"]
    mfn, fba = res["amazon.order_defect_rate"], res["amazon.order_defect_rate_fba"]
    assert (mfn["numerator"], mfn["denominator"], mfn["evidence"]) == (1, 5, ["a4"])
    assert mfn["status"] == "breach" and mfn["headroom"] == -1
    assert (fba["numerator"], fba["denominator"], fba["evidence"]) == (1, 2, ["f2"])


def test_amazon_late_shipment_both_windows() -> None:
    p = T - 40 * D
    orders = [
        order("L01", p, ship_by=T - 5 * D, shipped_at=T - 6 * D),  # on time
        order("L02", p, ship_by=T - 5 * D, shipped_at=T - 5 * D),  # exactly at ship_by: on time
        order("L03", p, ship_by=T - 5 * D, shipped_at=T - 5 * D + S),  # late
        order("L04", p, ship_by=T - 2 * D),  # not shipped: late
        order("L05", p, ship_by=T - D, shipped_at=T),  # shipped at T: not shipped before T
        order("L06", p, ship_by=T - 3 * D, cancelled_at=T - 4 * D, cancelled_by="buyer"),
        order("L07", p, ship_by=T - 3 * D, cancelled_at=T, cancelled_by="seller"),  # not yet
        order("L08", p, ship_by=T - 31 * D),  # outside 30 d
        order("L09", p, ship_by=T - 3 * D, fulfillment="marketplace"),
        order("L10", p, ship_by=T + D),  # ship_by not in the window
        order("L11", p, ship_by=T - 15 * D),  # in 30 d, not in 10 d
    ]
    res = run("amazon", orders=orders)["results"]
    r30, r10 = res["amazon.late_shipment_rate"], res["amazon.late_shipment_rate_10d"]
    # 30 d: L01 L02 L03 L04 L05 L07 L11 -> 7, late L03 L04 L05 L07 L11 -> 5
    assert (r30["numerator"], r30["denominator"]) == (5, 7)
    assert r30["evidence"] == ["L11", "L03", "L07", "L04", "L05"]  # by ship_by
    assert (r30["status"], r30["headroom"]) == ("breach", -5)  # only 0/7 is below 4%
    assert (r10["numerator"], r10["denominator"]) == (4, 6)
    assert r10["evidence"] == ["L03", "L07", "L04", "L05"]
    assert r10["headroom"] == -4


def test_amazon_cancellation_buyer_and_undated_not_counted() -> None:
    p = T - 3 * D
    orders = [
        order("c1", p, cancelled_at=p + H, cancelled_by="seller"),
        order("c2", p, cancelled_at=p + H, cancelled_by="marketplace"),
        order("c3", p, cancelled_at=p + H, cancelled_by="buyer"),  # buyer: not counted
        order("c4", p, status="cancelled", cancelled_by="seller"),  # no cancelled_at
        order("c5", p, cancelled_at=T, cancelled_by="seller"),  # at T: not yet
        order("c6", T - 7 * D),  # exactly T - 7 d: in the window
        order("c7", T - 7 * D - S, cancelled_at=T - 6 * D, cancelled_by="seller"),  # outside
        order("c8", p, cancelled_at=p + H, cancelled_by="seller", fulfillment="marketplace"),
        *plain("x", 74, T - 5 * D),
    ]
    r = result("amazon", "amazon.cancellation_rate", orders=orders)
    # population c1..c6 + 74 = 80; bad c1, c2; 2/80 = 2.5% -> breach; 1/80 = 1.25% is ok
    assert (r["numerator"], r["denominator"]) == (2, 80)
    assert (r["status"], r["value"], r["headroom"]) == ("breach", Fraction(1, 40), -1)
    assert r["evidence"] == ["c1", "c2"]


@pytest.mark.parametrize(
    ("bad", "status", "headroom"),
    [(3, "ok", 2), (4, "ok", 1), (5, "warn", 0), (6, "breach", -1)],
)
def test_amazon_valid_tracking_good_numerator_headroom(
    bad: int, status: str, headroom: int
) -> None:
    # good = 100 - bad; breach < 95%, warn < 96%: 97% ok (2 more bad -> 95% still ok),
    # 96% ok (1), 95% warn (0: 94% would breach), 94% breach (-1: 95% no longer breaches)
    kinds = [
        {"tracking_id": "1Z", "tracking_valid": None},
        {"tracking_id": None, "tracking_valid": True},
        {"tracking_id": "", "tracking_valid": True},
        {"tracking_id": "1Z", "tracking_valid": False},
    ]
    orders = [
        order(
            f"v{i:03d}",
            T - 20 * D,
            shipped_at=T - 10 * D + i * H,
            **(kinds[i % 4] if i < bad else {"tracking_id": "1Z", "tracking_valid": True}),
        )
        for i in range(100)
    ]
    orders.append(order("late", T - 20 * D, shipped_at=T))  # shipped at T: not shipped
    r = result("amazon", "amazon.valid_tracking_rate", orders=orders)
    assert (r["numerator"], r["denominator"]) == (100 - bad, 100)
    assert (r["status"], r["headroom"]) == (status, headroom)
    assert r["evidence"] == [f"v{i:03d}" for i in range(bad)]


def test_amazon_on_time_delivery_warn_only() -> None:
    ok = {"tracking_id": "1Z", "tracking_valid": True, "shipped_at": T - 10 * D}
    p = T - 20 * D
    orders = [
        order("D1", p, deliver_by=T - 3 * D, delivered_at=T - 3 * D, **ok),  # on time (equal)
        order("D2", p, deliver_by=T - 3 * D, delivered_at=T - 3 * D + S, **ok),  # late
        order("D3", p, deliver_by=T - 2 * D, **ok),  # not delivered
        order("D4", p, deliver_by=T - D, delivered_at=T, **ok),  # delivered at T: not yet
        order("D5", p, deliver_by=T - D, tracking_id="1Z", tracking_valid=True),  # not shipped
        order("D6", p, deliver_by=T - D, shipped_at=T - 10 * D, tracking_id="1Z"),  # invalid
        order("D7", p, deliver_by=T - D, cancelled_at=T - 5 * D, cancelled_by="buyer", **ok),
        order("D8", p, deliver_by=T - 15 * D, **ok),  # outside 14 d
    ]
    r = result("amazon", "amazon.on_time_delivery_rate", orders=orders)
    assert (r["numerator"], r["denominator"], r["value"]) == (1, 4, Fraction(1, 4))
    # no breach condition: warn < 97%; need 4/4 to leave warn -> 3 fewer bad
    assert (r["status"], r["headroom"]) == ("warn", -3)
    assert r["evidence"] == ["D2", "D3", "D4"]


def test_amazon_response_within_24h_pairing() -> None:
    plus2, minus1, plus1 = (timezone(timedelta(hours=h)) for h in (2, -1, 1))
    a = T - 10 * D
    messages = [
        # three unanswered inbound messages answered by one reply; the automated one ignored
        msg("a1", "A", a),
        msg("a2", "A", a + H),
        msg("a3", "A", a + 2 * H),
        msg("a4", "A", a + 3 * H, "out", automated=True),
        msg("a5", "A", a + 23 * H, "out", agent="ann"),
        # reply exactly 24 h later, written in another offset: 2026-04-21 12:00+02 = 10:00Z
        msg("b1", "B", datetime(2026, 4, 20, 10, tzinfo=UTC)),
        msg("b2", "B", datetime(2026, 4, 21, 12, tzinfo=plus2), "out"),
        # 2026-04-22 10:00-01 = 11:00Z, reply 2026-04-23 13:00+01 = 12:00Z: 25 h, late
        msg("c1", "C", datetime(2026, 4, 22, 10, tzinfo=minus1)),
        msg("c2", "C", datetime(2026, 4, 23, 13, tzinfo=plus1), "out"),
        msg("d1", "D", T - 2 * D),  # unanswered, older than 24 h: bad
        msg("e1", "E", T - 23 * H),  # unanswered, not older than 24 h: not counted
        msg("f1", "F", T - 24 * H),  # sent exactly at T - 24 h: counted, bad
        msg("g1", "G", T - 6 * D, needs_reply=False),  # needs no reply
        msg("h1", "H", T - 20 * D),
        msg("h2", "H", T - 20 * D + H, "out", automated=True),
        msg("i1", "I", T - 31 * D),  # outside the window
        msg("j1", "J", T - H),
        msg("j2", "J", T - H / 2, "out"),  # answered, young: good
        msg("k1", "K", T - 2 * H),
        msg("k2", "K", T, "out"),  # reply at T does not exist
        msg("l1", "L", T - 3 * D, channel="email"),
        msg("l2", "L", T - 3 * D + H, "out"),
    ]
    r = result("amazon", "amazon.response_within_24h", messages=messages)
    # population a1 a2 a3 b1 c1 d1 f1 h1 j1 l1 = 10; good a1 a2 a3 b1 j1 l1 = 6
    assert (r["numerator"], r["denominator"], r["value"]) == (6, 10, Fraction(3, 5))
    # breach < 90%: needs 9/10 -> 3 fewer bad
    assert (r["status"], r["headroom"]) == ("breach", -3)
    assert r["evidence"] == ["h1", "c1", "d1", "f1"]


def test_amazon_return_response_48h() -> None:
    e = T - 10 * D
    events = [
        event("r1", "return_request", e, "o1", responded_at=e + 48 * H),  # exactly 48 h: good
        event("r2", "return_request", e, "o2", responded_at=e + 48 * H + S),  # late
        event("r3", "return_request", T - 3 * D, "o3"),  # unanswered, older than 48 h: bad
        event("r4", "return_request", T - D, "o4"),  # unanswered, young: not counted
        event("r5", "return_request", T - D, "o5", responded_at=T - 12 * H),  # good
        event("r6", "return_request", T - 48 * H, "o6"),  # raised exactly at T - 48 h: bad
        event("r7", "return_request", T - 5 * D, "o7", status="withdrawn"),  # ignored
        event("r8", "return_request", T - H, "o8", responded_at=T),  # response at T: not yet
        event("r9", "return_request", T - 31 * D, "o9"),  # outside 30 d
    ]
    r = result("amazon", "amazon.return_response_48h", events=events)
    assert (r["numerator"], r["denominator"]) == (2, 5)
    assert (r["status"], r["headroom"]) == ("breach", -3)  # 5/5 needed to reach 90%
    assert r["evidence"] == ["r2", "r3", "r6"]


# ---------------------------------------------------------------------------------------------
# eBay
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("recent", "window_days"), [(400, 90), (399, 365)])
def test_ebay_400_order_switch(recent: int, window_days: int) -> None:
    orders = plain("n", recent, T - 90 * D, timedelta(minutes=1))  # n000 exactly at T - 90 d
    orders[1]["cancelled_at"] = orders[1]["purchased_at"] + H  # cancelled orders count too
    orders[1]["cancelled_by"] = "buyer"
    orders[2]["fulfillment"] = "marketplace"  # so do marketplace-fulfilled ones
    orders.append(order("old", T - 90 * D - S, cancelled_at=T - 80 * D, cancelled_by="seller"))
    r = result("ebay", "ebay.transaction_defect_rate", orders=orders)
    if window_days == 90:
        assert (r["numerator"], r["denominator"], r["count"]) == (0, 400, 0)
    else:
        assert (r["numerator"], r["denominator"], r["count"]) == (1, 400, 1)
        assert r["evidence"] == ["old"]
    assert r["status"] == "ok"


@pytest.mark.parametrize(
    ("buyers", "count", "status", "headroom"),
    [
        (["b1", "b2", "b3", "b4", "b5"], 5, "breach", -1),  # 5% and 5 > 4; 4 buyers is fine
        (["x"] * 5, 1, "ok", 3),  # count 1; 3 more -> 4 buyers still not > 4; 4 more breach
        ([None] * 5, 5, "breach", -1),  # each empty buyer_id is a buyer of its own
        (["x", "x", None, None, ""], 4, "warn", 0),  # 5% > 0.5% and 4 > 3; one more breaches
    ],
)
def test_ebay_transaction_defect_rate_compound(
    buyers: list[str | None], count: int, status: str, headroom: int
) -> None:
    orders = plain("t", 100, T - 30 * D)
    for i, buyer in enumerate(buyers):
        orders[i].update(cancelled_at=T - D, cancelled_by="seller", buyer_id=buyer)
    r = result("ebay", "ebay.transaction_defect_rate", orders=orders)
    assert (r["numerator"], r["denominator"], r["count"]) == (5, 100, count)
    assert (r["status"], r["headroom"]) == (status, headroom)
    assert r["evidence"] == ["t000", "t001", "t002", "t003", "t004"]


def test_ebay_cases_closed_without_resolution() -> None:
    orders = plain("c", 100, T - 30 * D)
    events = [
        event("e1", "inr_case", T - D, "c005", closed_without_seller_resolution=True),
        event("e2", "snad_case", T - D, "c002", closed_without_seller_resolution=True),
        event("e3", "snad_case", T - D, "c002", closed_without_seller_resolution=True),
        event("e4", "inr_case", T - D, "c009", closed_without_seller_resolution=True),
        event("e5", "inr_case", T - D, "c010", closed_without_seller_resolution=False),
        event("e6", "inr_case", T - D, "c011"),
        event(
            "e7",
            "snad_case",
            T - D,
            "c012",
            closed_without_seller_resolution=True,
            status="withdrawn",
        ),
        event("e8", "inr_case", T, "c013", closed_without_seller_resolution=True),  # at T
    ]
    res = run("ebay", orders=orders, events=events)["results"]
    cases = res["ebay.cases_closed_without_resolution"]
    # 3/100 = 3% > 0.3% and 3 > 2 -> breach; with 2 orders the count part fails
    assert (cases["numerator"], cases["count"], cases["status"]) == (3, 3, "breach")
    assert cases["headroom"] == -1
    assert cases["evidence"] == ["c002", "c005", "c009"]
    tdr = res["ebay.transaction_defect_rate"]
    # 3 orders, 3 distinct (empty) buyers: 3% > 0.5% but 3 is not > 3 -> ok
    assert (tdr["numerator"], tdr["count"], tdr["status"]) == (3, 3, "ok")
    # breach needs > 4 buyers: k = 1 -> 4 (no), k = 2 -> 5 buyers, 5% -> breach
    assert tdr["headroom"] == 1
    assert run("ebay", orders=orders, events=events)["level"] == "below_standard"


def test_ebay_late_shipment_and_headroom_capped_by_population() -> None:
    p = T - 30 * D
    sh = {"shipped_at": p + D, "ship_by": p + 2 * D, "deliver_by": p + 5 * D}
    valid = {"tracking_id": "1Z", "tracking_valid": True}
    orders = [
        order("E1", p, delivered_at=p + 6 * D, **sh),  # late, no valid tracking: bad
        order("E2", p, delivered_at=p + 6 * D, **sh, **valid),  # excused
        order("E3", p, delivered_at=p + 6 * D, **{**sh, "shipped_at": p + 3 * D}, **valid),
        order("E4", p, delivered_at=p + 6 * D, **{**sh, "ship_by": None}, **valid),  # bad
        order("E5", p, delivered_at=p + 6 * D, **{**sh, "deliver_by": None}),  # never late
        order("E6", p, **sh),  # not delivered
        order("E7", p, ship_by=p + 2 * D, deliver_by=p + 5 * D),  # not shipped: excluded
        order("E8", p, delivered_at=p + 6 * D, cancelled_at=p + 2 * D, cancelled_by="buyer", **sh),
    ]
    r = result("ebay", "ebay.late_shipment_rate", orders=orders)
    assert (r["numerator"], r["denominator"], r["count"]) == (3, 6, 3)
    # 50% but count 3: neither "> 7" nor "> 5" -> ok; even all 3 good turning bad (count 6)
    # stays below the breach count, so headroom is the 3 items that can still turn bad
    assert (r["status"], r["headroom"]) == ("ok", 3)
    assert r["evidence"] == ["E1", "E3", "E4"]


def test_ebay_tracking_uploaded() -> None:
    p = T - 30 * D
    valid = {"tracking_id": "1Z", "tracking_valid": True}
    orders = [
        order("U1", p, ship_by=p + 2 * D, shipped_at=p + 2 * D, **valid),  # good
        order("U2", p + H, ship_by=p + 2 * D, shipped_at=p + 2 * D + S, **valid),  # late
        order("U3", p + 2 * H, ship_by=p + 2 * D, shipped_at=p + D, tracking_id="1Z"),  # invalid
        order("U4", p + 3 * H, ship_by=p + 2 * D),  # never shipped
        order("U5", p, ship_by=T),  # ship_by not before T: excluded
        order("U6", p, ship_by=p + D, cancelled_at=p + H, cancelled_by="buyer"),  # excluded
        order("U7", p),  # no ship_by: excluded
    ]
    r = result("ebay", "ebay.tracking_uploaded", orders=orders)
    assert (r["numerator"], r["denominator"], r["status"]) == (1, 4, "warn")
    assert "count" not in r
    assert r["headroom"] == -3  # warn < 95%: only 4/4 clears it
    assert r["evidence"] == ["U2", "U3", "U4"]


def _top_rated_orders(n: int = 100, total: str = "10.00", first: timedelta = 120 * D) -> list:
    out = []
    for i in range(n):
        p = T - first + i * 20 * H
        out.append(
            order(
                f"g{i:03d}",
                p,
                ship_by=p + 2 * D,
                shipped_at=p + D,
                deliver_by=p + 5 * D,
                delivered_at=p + 3 * D,
                tracking_id="1Z",
                tracking_valid=True,
                total=Decimal(total),
                currency="USD",
            )
        )
    return out


def test_ebay_level_top_rated_and_its_conditions() -> None:
    assert run("ebay", orders=_top_rated_orders())["level"] == "top_rated"
    # Sales 100 x 9.99 = 999 < 1,000
    assert run("ebay", orders=_top_rated_orders(total="9.99"))["level"] == "above_standard"
    # 99 orders
    assert run("ebay", orders=_top_rated_orders(99))["level"] == "above_standard"
    # earliest purchase at T - 90 d exactly is enough; 1 s later is not
    assert run("ebay", orders=_top_rated_orders(first=90 * D))["level"] == "top_rated"
    assert run("ebay", orders=_top_rated_orders(first=90 * D - S))["level"] == "above_standard"
    # one of the 100 cancelled (by the buyer, not a defect): 99 kept -> above_standard
    orders = _top_rated_orders()
    orders[50].update(cancelled_at=orders[50]["purchased_at"] + H, cancelled_by="buyer")
    assert run("ebay", orders=orders)["level"] == "above_standard"
    # a warn: 4 seller cancellations of 4 buyers among 101 orders: 3.96% > 0.5%, 4 > 3
    orders = _top_rated_orders(101)
    for i in range(4):
        orders[i].update(
            cancelled_at=orders[i]["purchased_at"] + H, cancelled_by="seller", buyer_id=f"b{i}"
        )
    account = run("ebay", orders=orders)
    assert account["results"]["ebay.transaction_defect_rate"]["status"] == "warn"
    assert account["level"] == "above_standard"
    assert "level" not in run("amazon", orders=_top_rated_orders())


# ---------------------------------------------------------------------------------------------
# Etsy
# ---------------------------------------------------------------------------------------------


def _etsy_orders(total: str = "60", currency: str = "USD") -> list[dict]:
    """Five orders; Sales 5 x total; earliest exactly at T - 90 d."""
    starts = [90, 60, 30, 20, 10]
    rows = []
    for i, days in enumerate(starts, 1):
        p = T - days * D
        rows.append(
            order(
                f"e{i}",
                p,
                ship_by=p + 2 * D,
                shipped_at=p + D,
                tracking_id="t",
                total=Decimal(total),
                currency=currency,
            )
        )
    rows[1]["tracking_id"] = None  # e2: no tracking
    rows[2]["shipped_at"] = rows[2]["ship_by"] + S  # e3: dispatched late
    rows[3]["tracking_valid"] = False  # e4: present tracking suffices
    rows[4]["shipped_at"] = None  # e5: ship_by T - 8 d, never shipped
    return rows


def test_etsy_on_time_dispatch_usd_needs_tracking() -> None:
    extra = order(
        "x",
        T - 5 * D,
        ship_by=T - 4 * D,
        cancelled_at=T - 5 * D + H,
        cancelled_by="buyer",
        total=Decimal(1000),
        currency="USD",
    )
    r = result("etsy", "etsy.on_time_dispatch_with_tracking", orders=[*_etsy_orders(), extra])
    # population e1..e5 (x cancelled); good e1, e4 -> 2/5 -> warn; 5/5 needed to clear it
    assert (r["numerator"], r["denominator"], r["status"], r["headroom"]) == (2, 5, "warn", -3)
    assert r["evidence"] == ["e2", "e3", "e5"]
    # EUR account: 5 x 50 = 250 reaches EUR 250; e2 is on time without tracking
    r = result("etsy", "etsy.on_time_dispatch_with_tracking", orders=_etsy_orders("50", "EUR"))
    assert (r["numerator"], r["denominator"], r["evidence"]) == (3, 5, ["e3", "e5"])


@pytest.mark.parametrize(
    ("mutate", "eligible"),
    [
        (lambda rows: rows, True),
        (lambda rows: rows[:4], False),  # 4 orders
        (lambda rows: [{**r, "total": Decimal("59.99")} for r in rows], False),  # USD 299.95
        (lambda rows: [{**r, "purchased_at": r["purchased_at"] + S} for r in rows], False),
        (lambda rows: [{**r, "currency": "GBP", "total": Decimal(40)} for r in rows], True),
        (lambda rows: [{**r, "currency": "AUD", "total": Decimal(69)} for r in rows], False),
        (lambda rows: [{**r, "currency": None, "total": Decimal(60)} for r in rows], True),
    ],
)
def test_etsy_eligibility_gate(mutate: Any, eligible: bool) -> None:
    res = run(
        "etsy", orders=mutate(_etsy_orders()), events=[event("rv", "review", T - D, rating=5)]
    )["results"]
    etsy = {k: v for k, v in res.items() if k.startswith("etsy.")}
    assert len(etsy) == 3
    dispatch = etsy["etsy.on_time_dispatch_with_tracking"]
    assert dispatch["denominator"] >= 4 and dispatch["numerator"] is not None
    review = etsy["etsy.average_review_rating"]
    assert review["denominator"] == 1
    if eligible:
        assert review["status"] == "ok" and review["value"] == 5
        assert dispatch["value"] is not None
    else:
        for r in etsy.values():
            assert (r["status"], r["value"], r["headroom"]) == ("insufficient_data", None, None)


def test_etsy_account_currency_tie_and_known_orders() -> None:
    # 5 USD orders of 50 in the window (Sales 250 < USD 300); 5 GBP orders long ago make a tie,
    # broken alphabetically: GBP, threshold 200 -> eligible, and no tracking needed. A USD order
    # purchased at T does not exist yet and must not break the tie.
    orders = [
        *_etsy_orders("50", "USD"),
        *plain("g", 5, T - 300 * D, currency="GBP", total=Decimal(1)),
        order("future", T, currency="USD", total=Decimal(1000)),
    ]
    r = result("etsy", "etsy.on_time_dispatch_with_tracking", orders=orders)
    assert (r["status"], r["numerator"], r["denominator"]) == ("warn", 3, 5)
    assert r["evidence"] == ["e3", "e5"]


def test_etsy_opening_messages() -> None:
    messages = [
        msg("m1", "t1", T - 10 * D),
        msg("m1o", "t1", T - 9 * D, "out"),  # good
        msg("m2o", "t2", T - 10 * D, "out"),
        msg("m2", "t2", T - 9 * D),  # seller opened
        msg("m3a", "t3", T - 8 * D, needs_reply=False),
        msg("m3b", "t3", T - 7 * D),
        # same instant: inbound first; an outbound at the same instant is no reply
        msg("l4o", "t4", T - 5 * D, "out"),
        msg("m4", "t4", T - 5 * D),
        # two inbound at the same instant: the opening one is m5a; reply after 25 h
        msg("m5b", "t5", T - 4 * D),
        msg("m5a", "t5", T - 4 * D),
        msg("m5o", "t5", T - 3 * D + H, "out"),
        msg("m6", "t6", T - 91 * D),
        msg("m6o", "t6", T - 91 * D + H, "out"),  # outside 90 d
    ]
    r = result("etsy", "etsy.message_response_24h", orders=_etsy_orders(), messages=messages)
    assert (r["numerator"], r["denominator"], r["status"], r["headroom"]) == (1, 3, "warn", -2)
    assert r["evidence"] == ["m4", "m5a"]


def test_etsy_average_review_rating() -> None:
    events = [
        event("v1", "review", T - 50 * D, rating=5),
        event("v2", "review", T - 40 * D, rating=4),
        event("v3", "review", T - 30 * D, rating=5),
        event("v4", "review", T - 20 * D, rating=5),
        event("v5", "review", T - 10 * D),  # no rating
        event("v6", "feedback", T - 10 * D, "e1", rating=1),  # not a review
        event("v7", "review", T - 10 * D, rating=1, status="removed"),
        event("v8", "review", T - 91 * D, rating=1),  # outside 90 d
    ]
    r = result("etsy", "etsy.average_review_rating", orders=_etsy_orders(), events=events)
    assert r["value"] == Fraction(19, 4)  # 4.75 < 4.8
    assert (r["status"], r["numerator"], r["denominator"], r["headroom"]) == ("warn", None, 4, None)
    assert r["evidence"] == ["v2"]


# ---------------------------------------------------------------------------------------------
# Walmart
# ---------------------------------------------------------------------------------------------


def test_walmart_order_rates() -> None:
    orders = [order(f"w{i:02d}", T - i * D) for i in range(1, 11)]
    orders[0].update(cancelled_at=T - D + H, cancelled_by="seller")
    orders[1].update(refunded_at=T - D)
    orders[7].update(refunded_at=T)  # not yet
    events = [
        event("r", "return_request", T - D, "w03"),
        event("f2", "feedback", T - D, "w04", rating=2),
        event("v1", "review", T - D, "w05", rating=1),
        event("f3", "feedback", T - D, "w06", rating=3),
        event("i", "inr_case", T - D, "w07"),
    ]
    res = run("walmart", orders=orders, events=events)["results"]
    expected = {
        "walmart.cancellation_rate": (1, ["w01"], -1),
        "walmart.refund_rate": (1, ["w02"], -1),
        "walmart.return_rate": (1, ["w03"], -1),
        "walmart.negative_feedback_rate": (2, ["w05", "w04"], -2),  # w05 bought earlier
        "walmart.item_not_received_rate": (1, ["w07"], -1),
    }
    for rule_id, (bad, evidence, headroom) in expected.items():
        r = res[rule_id]
        assert (r["numerator"], r["denominator"], r["status"]) == (bad, 10, "breach"), rule_id
        assert (r["evidence"], r["headroom"]) == (evidence, headroom), rule_id


def test_walmart_cancellation_exactly_2_percent_is_ok() -> None:
    orders = plain("w", 50, T - 20 * D)
    orders[7].update(cancelled_at=T - D, cancelled_by="marketplace")
    r = result("walmart", "walmart.cancellation_rate", orders=orders)
    # 1/50 = 2% is not > 2%; 2/50 would breach
    assert (r["status"], r["value"], r["headroom"]) == ("ok", Fraction(1, 50), 0)


def test_walmart_delivery_tracking_and_response() -> None:
    ok = {"tracking_id": "1Z", "tracking_valid": True, "shipped_at": T - 20 * D}
    orders = [
        order(f"d{i:02d}", T - 25 * D, deliver_by=T - 10 * D, delivered_at=T - 11 * D, **ok)
        for i in range(9)
    ]
    orders.append(order("late", T - 25 * D, deliver_by=T - 10 * D, delivered_at=T - 9 * D, **ok))
    orders.append(order("bad", T - 25 * D, shipped_at=T - 20 * D, tracking_id="1Z"))
    res = run(
        "walmart",
        orders=orders,
        messages=[
            msg("q", "q", T - 5 * D),
            msg("qo", "q", T - 3 * D, "out"),
            msg("p", "p", T - 4 * D),
            msg("po", "p", T - 3 * D + S, "out"),
        ],
    )["results"]
    otd = res["walmart.on_time_delivery_rate"]
    # 9/10 = 90% is not < 90%; one more late breaches
    assert (otd["numerator"], otd["denominator"], otd["status"], otd["headroom"]) == (
        9,
        10,
        "ok",
        0,
    )
    vtr = res["walmart.valid_tracking_rate"]
    # 10/11 < 99% -> breach; 11/11 needed
    assert (vtr["numerator"], vtr["denominator"], vtr["status"], vtr["headroom"]) == (
        10,
        11,
        "breach",
        -1,
    )
    resp = res["walmart.seller_response_48h"]
    # q answered in exactly 48 h: good; p in 24 h + 1 s: good
    assert (resp["numerator"], resp["denominator"], resp["status"], resp["headroom"]) == (
        2,
        2,
        "ok",
        0,
    )


# ---------------------------------------------------------------------------------------------
# Facebook
# ---------------------------------------------------------------------------------------------


def test_facebook_new_messages_silence_and_median() -> None:
    m = {"channel": "messenger"}
    messages = [
        msg("x1", "F1", T - 3 * D, **m),  # new
        msg("x2", "F1", T - 3 * D + H, **m),  # 1 h after x1: not new
        msg("x3", "F1", T - 3 * D + 2 * H, "out"),  # reply to x1 after 2 h
        msg("x4", "F1", T - 2 * D + 2 * H, **m),  # exactly 24 h after x3: silence broken
        msg("x5", "F1", T - D + 2 * H + S, **m),  # 24 h + 1 s after x4: new, unanswered
        msg("y1", "F2", T - 5 * D, needs_reply=False, **m),  # never new, but breaks silence
        msg("y2", "F2", T - 5 * D + 23 * H, **m),  # not new
        msg("z1", "F3", T - 6 * D, **m),
        msg("z2", "F3", T - 6 * D, **m),  # same instant: both
        msg("z3", "F3", T - 6 * D + 10 * timedelta(minutes=1), "out", channel="email"),
        msg("w1", "F4", T - 2 * D),
        msg("w2", "F4", T - D, channel="email"),  # not messenger
        msg("v1", "F5", T - 8 * D + 2 * H, **m),
        msg("v2", "F5", T - 7 * D + H, **m),
        msg("u1", "F6", T - 2 * D, **m),
        msg("u2", "F6", T - 2 * D + timedelta(minutes=1), "out", automated=True),
        msg("u3", "F6", T - 2 * D + timedelta(minutes=30), "out"),
    ]
    res = run("facebook", messages=messages)["results"]
    rate, time = res["facebook.response_rate"], res["facebook.response_time"]
    # new: x1 x5 z1 z2 u1; answered x1 z1 z2 u1
    assert (rate["numerator"], rate["denominator"], rate["status"]) == (4, 5, "warn")
    assert (rate["headroom"], rate["evidence"]) == (-1, ["x5"])
    # delays 7200, 600, 600, 1800 -> median (600 + 1800) / 2 = 1200 > 900
    assert (time["value"], time["denominator"], time["status"]) == (1200, 4, "warn")
    assert (time["numerator"], time["headroom"]) == (None, None)
    assert time["evidence"] == ["x1", "u1"]


def test_facebook_silence_boundary_exactly_24h() -> None:
    m = {"channel": "messenger"}
    exactly = run(
        "facebook", messages=[msg("a", "A", T - 3 * D, "out"), msg("b", "A", T - 2 * D, **m)]
    )
    assert exactly["results"]["facebook.response_rate"]["denominator"] == 0
    assert exactly["results"]["facebook.response_rate"]["status"] == "insufficient_data"
    later = run(
        "facebook", messages=[msg("a", "A", T - 3 * D - S, "out"), msg("b", "A", T - 2 * D, **m)]
    )
    assert later["results"]["facebook.response_rate"]["denominator"] == 1
    assert later["results"]["facebook.response_rate"]["value"] == 0


# ---------------------------------------------------------------------------------------------
# Service
# ---------------------------------------------------------------------------------------------


def test_service_first_response_time() -> None:
    messages = [
        msg("s1", "s1", T - 10 * D),
        msg("s1o", "s1", T - 10 * D + H, "out"),  # 3600
        msg("s2", "s2", T - 9 * D),
        msg("s2o", "s2", T - 9 * D + 5 * H, "out"),  # 18000
        msg("s3a", "s3", T - 8 * D, needs_reply=False),
        msg("s3b", "s3", T - 8 * D + H),
        msg("s3o", "s3", T - 8 * D + 2 * H, "out"),  # first inbound needs no reply: out
        msg("s4o", "s4", T - 7 * D, "out"),
        msg("s4", "s4", T - 7 * D + H),
        msg("s4r", "s4", T - 7 * D + 3 * H, "out"),  # 7200
        msg("s5", "s5", T - 6 * D),  # unanswered: out of the sample
        msg("s6", "s6", T - 31 * D),
        msg("s6o", "s6", T - 31 * D + H, "out"),  # outside
        msg("s7", "s7", T - 5 * D),
        msg("s7a", "s7", T - 5 * D + timedelta(minutes=1), "out", automated=True),
        msg("s7o", "s7", T - 5 * D + 4 * H, "out"),  # 14400: not > 4 h
    ]
    r = result("other", "service.first_response_time", messages=messages)
    # sorted 3600 7200 14400 18000: median 10800, p90 = ceil(3.6) = 4th = 18000
    assert (r["value"], r["p90"], r["denominator"], r["status"]) == (10800, 18000, 4, "ok")
    assert (r["numerator"], r["headroom"], r["evidence"]) == (None, None, ["s2"])


def test_service_resolution_time_and_rate() -> None:
    messages = [
        msg("r1", "r1", T - 10 * D),
        msg("r1o", "r1", T - 9 * D, "out", resolved_at=T - 9 * D),
        msg("r2", "r2", T - 40 * D),
        msg("r2o", "r2", T - 5 * D, "out", resolved_at=T - 5 * D),
        msg("r3", "r3", T - 20 * D),
        msg("r4", "r4", T - 3 * D),
        msg("r4o", "r4", T - 2 * D, "out", resolved_at=T),
        msg("r5", "r5", T - 4 * D, resolved_at=T - 2 * D),
        msg("r5o", "r5", T - 3 * D, "out", resolved_at=T - D),
        msg("r6", "r6", T - 2 * D),
        msg("r6o", "r6", T, "out", resolved_at=T - H),  # unknown
    ]
    res = run("other", messages=messages)["results"]
    mttr = res["service.resolution_time"]
    # r1: 1 d, r2: 35 d, r5: 3 d (latest resolution) -> (86400 + 3024000 + 259200) / 3
    assert mttr["value"] == 1123200 and mttr["denominator"] == 3
    assert (mttr["status"], mttr["evidence"]) == ("warn", ["r2", "r5"])
    rate = res["service.resolution_rate"]
    # opened in window r1 r3 r4 r5 r6; resolved r1 r5 -> 2/5; 4/5 needed for 80%
    assert (rate["numerator"], rate["denominator"], rate["status"], rate["headroom"]) == (
        2,
        5,
        "warn",
        -2,
    )
    assert rate["evidence"] == ["r3", "r4", "r6"]


def test_service_backlog() -> None:
    messages = [
        msg("b1", "b1", T - D),  # waiting
        msg("b2", "b2", T - 2 * D),
        msg("b2o", "b2", T - D, "out"),  # answered
        msg("b3", "b3", T - 3 * D, resolved_at=T - 2 * D),  # resolved later
        msg("b4", "b4", T - 4 * D, resolved_at=T - 4 * D),  # resolved at the same instant
        msg("b5a", "b5", T - 5 * D),
        msg("b5b", "b5", T - 4 * D, needs_reply=False),
        msg("b6", "b6", T - 6 * D),
        msg("b6o", "b6", T - 6 * D + H, "out", automated=True),
        msg("b7", "b7", T - 40 * D),  # latest inbound outside the window
        msg("b8", "b8", T - D, "out"),  # no inbound
        msg("m9a", "b9", T - 7 * D),
        msg("m9b", "b9", T - 7 * D, needs_reply=False),
        msg("b10", "b10", T - 8 * D, resolved_at=T),  # resolution at T: not yet
    ]
    r = result("other", "service.backlog", messages=messages)
    # denominator b1 b2 b3 b4 b5 b6 b9 b10 = 8; waiting b1 b4 b6 b10
    assert (r["value"], r["numerator"], r["denominator"]) == (4, 4, 8)
    assert (r["status"], r["headroom"]) == ("ok", 16)
    assert r["evidence"] == ["b10", "b6", "b4", "b1"]
    many = [msg(f"q{i:02d}", f"q{i:02d}", T - D - i * H) for i in range(21)]
    r = result("other", "service.backlog", messages=many)
    assert (r["value"], r["status"], r["headroom"]) == (21, "warn", -1)


def test_service_tickets_per_agent() -> None:
    out = "out"
    messages = [
        msg("1", "t1", T - D, out, agent="alice"),
        msg("2", "t2", T - D, out, agent="alice"),
        msg("3", "t2", T - D + H, out, agent="alice"),
        msg("4", "t3", T - D, out, agent="alice"),
        msg("5", "t1", T - D, out, agent="bob", automated=True),
        msg("6", "t4", T - D, out, agent="bob"),
        msg("7", "t7", T - D, out, agent="erin"),
        msg("8", "t8", T - D, out, agent="erin"),
        msg("9", "t5", T - 31 * D, out, agent="carol"),  # outside the window
        msg("10", "t6", T - D, out, agent="dave"),
        msg("11", "t9", T - D, out),
        msg("12", "t9", T - D, out, agent=""),
        msg("13", "t9", T - D, agent="zed"),  # inbound: not the agent's
    ]
    r = result("other", "service.tickets_per_agent", messages=messages)
    # alice 3, bob 2, erin 2, dave 1 -> 8 / 4
    assert (r["value"], r["denominator"], r["numerator"], r["status"]) == (2, 4, None, "ok")
    assert r["evidence"] == ["alice", "bob", "erin", "dave"]


def test_service_feedback_and_surveys() -> None:
    orders = [order(f"p{i}", T - i * D) for i in range(1, 6)]
    events = [
        event("n1", "feedback", T - 9 * D, "p1", rating=1),
        event("n2", "review", T - 8 * D, rating=2),
        event("n3", "feedback", T - 7 * D, "p2", rating=5),
        event("n4", "review", T - 6 * D, "p3", rating=4),
        event("n5", "review", T - 5 * D),  # no rating
        event("n6", "feedback", T - 4 * D, "p4", rating=1, status="withdrawn"),
        event("n7", "feedback", T - 3 * D, "p5", rating=3),
        event("n8", "review", T - 2 * D, "p4", rating=5, status="removed"),
        event("s1", "survey", T - 9 * D, survey="nps", rating=10),
        event("s2", "survey", T - 8 * D, survey="nps", rating=9),
        event("s3", "survey", T - 7 * D, survey="nps", rating=7),
        event("s4", "survey", T - 6 * D, survey="nps", rating=6),
        event("s5", "survey", T - 5 * D, survey="nps", rating=0),
        event("s6", "survey", T - 5 * D, survey="nps"),  # no rating
        event("c1", "survey", T - 5 * D, survey="csat", rating=5),
        event("c2", "survey", T - 4 * D, survey="csat", rating=4),
        event("c3", "survey", T - 3 * D, survey="csat", rating=3),
        event("c4", "survey", T - 2 * D, survey="csat", rating=2),
        event("c5", "survey", T - D, survey="csat", rating=5),
        event("e1", "survey", T - D, survey="ces", rating=1),
        event("e2", "survey", T - D, survey="ces", rating=2),
        event("e3", "survey", T - D, survey="ces", rating=6),
        event("e4", "survey", T - 31 * D, survey="ces", rating=7),  # outside 30 d
    ]
    res = run("other", orders=orders, events=events)["results"]
    neg = res["service.negative_feedback_rate"]
    # rated: n1 n2 n3 n4 n7 = 5; 1-2: n1 n2 -> 40% > 10%; 0/5 needed
    assert (neg["numerator"], neg["denominator"], neg["status"], neg["headroom"]) == (
        2,
        5,
        "warn",
        -2,
    )
    assert neg["evidence"] == ["n1", "n2"]
    pos = res["service.positive_review_rate"]
    # p1..p5; with a 4-5 feedback/review: p2 (n3), p3 (n4) -> informational
    assert (pos["numerator"], pos["denominator"], pos["status"], pos["headroom"]) == (
        2,
        5,
        "ok",
        None,
    )
    assert pos["evidence"] == ["p5", "p4", "p1"]  # not good, oldest purchase first
    nps = res["service.nps"]
    # promoters 2, detractors 2 of 5 -> 0, not < 0
    assert (nps["value"], nps["denominator"], nps["status"]) == (0, 5, "ok")
    assert nps["evidence"] == ["s4", "s5"]
    csat = res["service.csat"]
    # 3/5 = 60% < 80%; 4/5 clears it
    assert (csat["numerator"], csat["denominator"], csat["status"], csat["headroom"]) == (
        3,
        5,
        "warn",
        -1,
    )
    assert csat["evidence"] == ["c3", "c4"]
    ces = res["service.ces"]
    assert (ces["value"], ces["denominator"], ces["status"], ces["evidence"]) == (3, 3, "ok", [])


def test_service_nps_negative() -> None:
    events = [event(f"s{r}", "survey", T - D, survey="nps", rating=r) for r in (10, 5, 3)]
    r = result("other", "service.nps", events=events)
    assert (r["value"], r["status"], r["evidence"]) == (Fraction(-100, 3), "warn", ["s3", "s5"])


def test_service_repeat_purchase_rate() -> None:
    orders = [
        order("A1", T - 10 * D, buyer_id="A"),
        order("A2", T - 200 * D, buyer_id="A"),
        order("B1", T - 5 * D, buyer_id="B"),
        order("C1", T - 40 * D, buyer_id="C"),
        order("C2", T - 50 * D, buyer_id="C"),
        order("D1", T - 3 * D, buyer_id="D"),
        order("D2", T - 2 * D, buyer_id="D", cancelled_at=T - D, cancelled_by="buyer"),
        order("E1", T - 20 * D, buyer_id="E"),
        order("E2", T - 366 * D, buyer_id="E"),
        order("F1", T - D, buyer_id="F"),
        order("F2", T, buyer_id="F"),
        order("N1", T - D),
        order("N2", T - D, buyer_id=""),
    ]
    r = result("other", "service.repeat_purchase_rate", orders=orders)
    assert (r["numerator"], r["denominator"], r["value"]) == (2, 5, Fraction(2, 5))
    assert (r["status"], r["headroom"]) == ("ok", None)
    assert r["evidence"] == ["E", "B", "F"]


# ---------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------


def test_account_packs_and_worst_status() -> None:
    orders = [order("o1", T - D)]
    events = [event("e", "chargeback", T - H, "o1")]
    other = run("other", orders=orders, events=events)
    assert all(rule.startswith("service.") for rule in other["results"])
    assert len(other["results"]) == 11
    assert "level" not in other
    # service only: positive review rate ok, the rest without data -> insufficient_data
    assert other["status"] == "insufficient_data"
    amazon = run("amazon", orders=orders, events=events)
    assert len(amazon["results"]) == 20
    assert amazon["status"] == "breach"  # ODR 1/1


def test_dst_window_uses_24h_days() -> None:
    as_of = datetime(2026, 3, 10, 12, tzinfo=ZoneInfo("America/New_York"))  # 16:00Z
    orders = [
        order(
            "in",
            datetime(2026, 3, 3, 16, 30, tzinfo=UTC),
            cancelled_at=as_of - D,
            cancelled_by="seller",
        ),
        order("out", datetime(2026, 3, 3, 15, 59, tzinfo=UTC)),
    ]
    r = result("amazon", "amazon.cancellation_rate", orders=orders, as_of=as_of)
    assert (r["numerator"], r["denominator"]) == (1, 1)


def test_result_keys_and_minimal_records() -> None:
    """Records carrying only the required columns work; results carry exactly the agreed keys."""
    orders = [
        {
            "account_id": "a",
            "order_id": "o1",
            "purchased_at": T - D,
            "status": "pending",
            "fulfillment": "merchant",
        }
    ]
    messages = [
        {
            "account_id": "a",
            "message_id": "m1",
            "thread_id": "t",
            "sent_at": T - D,
            "direction": "in",
        }
    ]
    events = [
        {
            "account_id": "a",
            "event_id": "e1",
            "kind": "chargeback",
            "occurred_at": T - H,
            "order_id": "o1",
        }
    ]
    report = evaluate(
        [{"account_id": "a", "marketplace": "ebay"}, {"account_id": "b", "marketplace": "amazon"}],
        orders,
        messages,
        events,
        T,
    )
    assert set(report) == {"a", "b"}
    assert report["b"]["results"]["amazon.order_defect_rate"]["numerator"] == 0  # not b's order
    res = report["a"]["results"]
    base = {"status", "value", "numerator", "denominator", "headroom", "steps", "recovery"}
    base |= {"evidence"}
    for rule_id, r in res.items():
        extra = set()
        if rule_id in (
            "ebay.transaction_defect_rate",
            "ebay.cases_closed_without_resolution",
            "ebay.late_shipment_rate",
        ):
            extra = {"count"}
        if rule_id == "service.first_response_time":
            extra = {"p90"}
        assert set(r) == base | extra, rule_id
    assert res["service.backlog"]["evidence"] == ["t"]
    assert res["ebay.tracking_uploaded"]["denominator"] == 0  # no ship_by
    assert report["a"]["level"] == "above_standard"
