"""Edge cases of the Amazon pack, run through the SQL engine on both backends."""

from datetime import timedelta, timezone
from fractions import Fraction

import pytest

from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_pack
from tests.factory import Seller, T, ago


def check(engine, *packs, as_of=T):
    result = evaluate(engine, [builtin_pack(p) for p in packs or ("amazon",)], as_of)
    return {r.rule: r for r in result.accounts[0].results}, result.accounts[0]


def test_odr_window_is_half_open_to_the_microsecond(engine):
    seller = Seller()
    seller.order("in-at-start", ago(days=60))  # exactly T - 60 d: inside
    seller.order("out-before-start", ago(days=60, seconds=1))
    seller.order("out-at-T", T)  # not known yet
    seller.order("in-just-before-T", ago(seconds=1))
    for order_id in ("in-at-start", "out-before-start", "out-at-T"):
        seller.event(f"claim-{order_id}", "a_to_z_claim", ago(days=1), order_id=order_id)
    seller.save(engine)
    odr = check(engine)[0]["amazon.order_defect_rate"]
    assert (odr.numerator, odr.denominator) == (1, 2)
    assert odr.evidence == ["in-at-start"]
    assert odr.value == Fraction(1, 2) and odr.status == "breach"


def test_timestamps_in_other_offsets_are_compared_as_instants(engine):
    plus_five = timezone(timedelta(hours=5, minutes=30))
    start = ago(days=60).astimezone(plus_five)  # 05:30 local, same instant as the window start
    seller = (
        Seller()
        .order("a", start)
        .order("b", (ago(days=60) - timedelta(microseconds=1)).astimezone(plus_five))
    )
    seller.save(engine)
    assert check(engine)[0]["amazon.order_defect_rate"].denominator == 1


def test_events_after_as_of_and_withdrawn_feedback_are_not_defects(engine):
    seller = Seller()
    for i in range(4):
        seller.order(f"o{i}", ago(days=10))
    seller.event("later", "chargeback", T, order_id="o0")  # raised at T: not known yet
    seller.event("withdrawn", "feedback", ago(days=1), order_id="o1", rating=1, status="withdrawn")
    seller.event("removed", "a_to_z_claim", ago(days=1), order_id="o2", status="removed")
    seller.event("praise", "feedback", ago(days=1), order_id="o3", rating=3)
    seller.save(engine)
    odr = check(engine)[0]["amazon.order_defect_rate"]
    assert (odr.numerator, odr.status, odr.headroom) == (0, "ok", 0)


def test_two_defects_on_one_order_count_once(engine):
    seller = Seller().order("o1", ago(days=3)).order("o2", ago(days=3))
    seller.event("f", "feedback", ago(days=1), order_id="o1", rating=2)
    seller.event("c", "chargeback", ago(days=1), order_id="o1", status="open")
    seller.save(engine)
    assert check(engine)[0]["amazon.order_defect_rate"].numerator == 1


def test_exactly_one_percent_breaches_and_headroom(engine):
    seller = Seller()
    for i in range(400):
        seller.order(f"o{i:03}", ago(days=30, minutes=i))
    for i in range(4):
        seller.event(f"e{i}", "a_to_z_claim", ago(days=1), order_id=f"o{i:03}")
    seller.save(engine)
    odr = check(engine)[0]["amazon.order_defect_rate"]
    assert (odr.status, odr.value, odr.headroom) == ("breach", Fraction(1, 100), -1)
    # oldest bad item is o003 (purchased 3 minutes before o000), leaving 60 days after its purchase
    assert odr.evidence == ["o003", "o002", "o001", "o000"]
    assert odr.rolloff.at == ago(days=30, minutes=3) + timedelta(days=60)
    assert (odr.rolloff.numerator, odr.rolloff.denominator) == (3, 3)


def test_fba_orders_have_their_own_rate(engine):
    seller = Seller().order("m", ago(days=1)).order("f", ago(days=1), fulfillment="marketplace")
    seller.event("c", "chargeback", ago(hours=1), order_id="f")
    seller.save(engine)
    results = check(engine)[0]
    assert results["amazon.order_defect_rate"].numerator == 0
    assert results["amazon.order_defect_rate_fba"].numerator == 1


def test_cancellations_by_buyer_are_not_counted_and_need_an_instant(engine):
    seller = Seller()
    seller.order(
        "buyer", ago(days=1), status="cancelled", cancelled_at=ago(hours=20), cancelled_by="buyer"
    )
    seller.order(
        "seller", ago(days=1), status="cancelled", cancelled_at=ago(hours=20), cancelled_by="seller"
    )
    seller.order(
        "amazon",
        ago(days=1),
        status="cancelled",
        cancelled_at=ago(hours=20),
        cancelled_by="marketplace",
    )
    seller.order("no-instant", ago(days=1), status="cancelled", cancelled_by="seller")
    seller.order("cancelled-at-T", ago(days=1), cancelled_at=T, cancelled_by="seller")
    seller.save(engine)
    cancel = check(engine)[0]["amazon.cancellation_rate"]
    assert (cancel.numerator, cancel.denominator) == (2, 5)
    assert cancel.evidence == ["amazon", "seller"]


def test_late_shipment_counts_unshipped_and_late_and_skips_cancelled(engine):
    seller = Seller()
    seller.order(
        "on-time", ago(days=5), ship_by=ago(days=3), shipped_at=ago(days=3)
    )  # equal: not late
    seller.order("late", ago(days=5), ship_by=ago(days=3), shipped_at=ago(days=3, seconds=-1))
    seller.order("unshipped", ago(days=5), ship_by=ago(days=3))
    seller.order(
        "ships-at-T", ago(days=5), ship_by=ago(days=3), shipped_at=T
    )  # not shipped before T
    seller.order(
        "cancelled",
        ago(days=5),
        ship_by=ago(days=3),
        cancelled_at=ago(days=4),
        cancelled_by="buyer",
    )
    seller.order("due-later", ago(days=1), ship_by=T + timedelta(days=1))
    seller.order("due-11-days-ago", ago(days=12), ship_by=ago(days=11), shipped_at=ago(days=2))
    seller.save(engine)
    results = check(engine)[0]
    lsr30, lsr10 = results["amazon.late_shipment_rate"], results["amazon.late_shipment_rate_10d"]
    assert (lsr30.numerator, lsr30.denominator) == (4, 5)
    assert set(lsr30.evidence) == {"late", "unshipped", "ships-at-T", "due-11-days-ago"}
    assert (lsr10.numerator, lsr10.denominator) == (3, 4)


def test_valid_tracking_needs_an_explicit_true(engine):
    seller = Seller()
    seller.order(
        "valid", ago(days=5), shipped_at=ago(days=4), tracking_id="1Z", tracking_valid=True
    )
    seller.order("unknown", ago(days=5), shipped_at=ago(days=4), tracking_id="1Z")
    seller.order("no-id", ago(days=5), shipped_at=ago(days=4), tracking_valid=True)
    seller.order(
        "not-shipped-yet",
        ago(days=5),
        shipped_at=T + timedelta(hours=1),
        tracking_id="1Z",
        tracking_valid=True,
    )
    seller.save(engine)
    vtr = check(engine)[0]["amazon.valid_tracking_rate"]
    assert (vtr.numerator, vtr.denominator, vtr.status) == (1, 3, "breach")
    assert vtr.evidence == ["no-id", "unknown"]  # same instant: ordered by id


def test_on_time_delivery(engine):
    tracked = {"tracking_id": "1Z", "tracking_valid": True, "shipped_at": ago(days=9)}
    seller = Seller()
    seller.order(
        "on-time", ago(days=10), deliver_by=ago(days=5), delivered_at=ago(days=5), **tracked
    )
    seller.order("late", ago(days=10), deliver_by=ago(days=5), delivered_at=ago(days=4), **tracked)
    seller.order("not-delivered", ago(days=10), deliver_by=ago(days=5), **tracked)
    seller.order(
        "untracked",
        ago(days=10),
        deliver_by=ago(days=5),
        shipped_at=ago(days=9),
        delivered_at=ago(days=6),
    )
    seller.save(engine)
    otd = check(engine)[0]["amazon.on_time_delivery_rate"]
    assert (otd.numerator, otd.denominator, otd.status) == (1, 3, "warn")
    assert otd.thresholds == {"warn": "< 0.97"}
    assert otd.headroom == -2  # two more on-time deliveries (3 of 3) would clear the warning


def test_reply_exactly_at_24_hours_counts_and_one_reply_answers_every_earlier_message(engine):
    seller = Seller()
    seller.message("q1", "t1", ago(days=3), "in")
    seller.message("q2", "t1", ago(days=2, hours=12), "in")
    seller.message("auto", "t1", ago(days=2, hours=11), "out", automated=True)  # never a reply
    seller.message("r1", "t1", ago(days=2), "out")  # 24 h after q1, 12 h after q2
    seller.message("q3", "t2", ago(days=2), "in")
    seller.message("r3", "t2", ago(days=1, seconds=-1), "out")  # 24 h and 1 s: late
    seller.message(
        "q4", "t3", ago(hours=23), "in"
    )  # younger than 24 h, unanswered: not counted yet
    seller.message("q5", "t4", ago(hours=24), "in")  # exactly 24 h old, unanswered: counted as bad
    seller.message("q6", "t5", ago(days=2), "in", needs_reply=False)
    seller.save(engine)
    rate = check(engine)[0]["amazon.response_within_24h"]
    assert (rate.numerator, rate.denominator) == (2, 4)
    assert rate.evidence == ["q3", "q5"]


def test_reply_after_as_of_does_not_exist(engine):
    seller = Seller().message("q", "t", ago(days=2), "in").message("r", "t", T, "out")
    seller.save(engine)
    rate = check(engine)[0]["amazon.response_within_24h"]
    assert (rate.numerator, rate.denominator, rate.status) == (0, 1, "breach")


def test_return_responses(engine):
    seller = Seller()
    seller.event(
        "fast", "return_request", ago(days=5), order_id="o", responded_at=ago(days=3)
    )  # exactly 48 h
    seller.event("slow", "return_request", ago(days=5), order_id="o", responded_at=ago(days=2))
    seller.event("open-young", "return_request", ago(hours=47), order_id="o")  # not yet due
    seller.event("open-old", "return_request", ago(hours=48), order_id="o")
    seller.save(engine)
    rr = check(engine)[0]["amazon.return_response_48h"]
    assert (rr.numerator, rr.denominator) == (1, 3)
    assert rr.evidence == ["slow", "open-old"]


def test_empty_population_is_insufficient_data_with_counts(engine):
    Seller().save(engine)
    odr = check(engine)[0]["amazon.order_defect_rate"]
    assert (odr.status, odr.value, odr.numerator, odr.denominator, odr.headroom) == (
        "insufficient_data",
        None,
        0,
        0,
        None,
    )


@pytest.mark.parametrize("pack", ["amazon"])
def test_account_status_is_the_worst_rule_status(engine, pack):
    seller = Seller().order("o", ago(days=1))
    seller.event("c", "chargeback", ago(hours=1), order_id="o")
    seller.save(engine)
    results, account = check(engine, pack)
    assert account.status == "breach"
