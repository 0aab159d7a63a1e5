"""Edge cases of the eBay, Etsy, Walmart, Facebook and service packs."""

from datetime import timedelta
from fractions import Fraction

import pytest

from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_pack
from tests.factory import Seller, T, ago


def check(engine, *packs, account=0):
    result = evaluate(engine, [builtin_pack(p) for p in packs], T)
    checked = result.accounts[account]
    return {r.rule: r for r in checked.results}, checked


# --- eBay ---------------------------------------------------------------------------------


def test_ebay_window_switches_to_twelve_months_below_400_orders(engine):
    seller = Seller(marketplace="ebay")
    for i in range(399):
        seller.order(f"recent{i}", ago(days=10))
    seller.order("old", ago(days=200), cancelled_at=ago(days=199), cancelled_by="seller")
    seller.save(engine)
    tdr = check(engine, "ebay")[0]["ebay.transaction_defect_rate"]
    assert tdr.denominator == 400 and tdr.numerator == 1
    assert tdr.window_start == T - timedelta(days=365)


def test_ebay_window_is_three_months_from_400_orders_of_any_status(engine):
    seller = Seller(marketplace="ebay")
    for i in range(399):
        seller.order(f"recent{i}", ago(days=10), fulfillment="marketplace")
    seller.order(
        "cancelled",
        ago(days=10),
        status="cancelled",
        cancelled_at=ago(days=9),
        cancelled_by="buyer",
    )
    seller.order("old", ago(days=200))
    seller.save(engine)
    tdr = check(engine, "ebay")[0]["ebay.transaction_defect_rate"]
    assert tdr.denominator == 400 and tdr.window_start == T - timedelta(days=90)


def test_ebay_compound_limit_needs_rate_and_buyer_count(engine):
    seller = Seller(marketplace="ebay")
    for i in range(100):
        seller.order(f"o{i:03}", ago(days=20), buyer_id=f"b{i % 3}" if i < 6 else f"x{i}")
    # 6 defects (6% > 2%) but from 3 distinct buyers: not above 4 buyers
    for i in range(6):
        seller.event(
            f"case{i}",
            "snad_case",
            ago(days=5),
            order_id=f"o{i:03}",
            closed_without_seller_resolution=True,
        )
    seller.save(engine)
    results, account = check(engine, "ebay")
    tdr = results["ebay.transaction_defect_rate"]
    assert (tdr.numerator, tdr.count, tdr.status) == (6, 3, "ok")
    assert tdr.headroom == 1  # one more defective order from a new buyer: 7% and 4 buyers, still ok
    cases = results["ebay.cases_closed_without_resolution"]
    assert (cases.numerator, cases.count, cases.status) == (6, 6, "breach")
    assert account.extra["level"] == "below_standard"


def test_ebay_empty_buyer_ids_count_as_distinct_buyers(engine):
    seller = Seller(marketplace="ebay")
    for i in range(10):
        seller.order(f"o{i}", ago(days=20), cancelled_at=ago(days=19), cancelled_by="seller")
    seller.save(engine)
    tdr = check(engine, "ebay")[0]["ebay.transaction_defect_rate"]
    assert (tdr.count, tdr.status) == (10, "breach")


def test_ebay_late_shipment_forgiven_with_valid_tracking_shipped_on_time(engine):
    seller = Seller(marketplace="ebay")
    base = {
        "shipped_at": ago(days=18),
        "ship_by": ago(days=18),
        "deliver_by": ago(days=15),
        "delivered_at": ago(days=14),
    }
    seller.order("late", ago(days=20), **base)
    seller.order("forgiven", ago(days=20), tracking_id="1Z", tracking_valid=True, **base)
    seller.order(
        "no-ship-by",
        ago(days=20),
        tracking_id="1Z",
        tracking_valid=True,
        **{**base, "ship_by": None},
    )
    seller.order("no-deliver-by", ago(days=20), **{**base, "deliver_by": None})
    seller.save(engine)
    late = check(engine, "ebay")[0]["ebay.late_shipment_rate"]
    assert (late.numerator, late.denominator, late.count) == (2, 4, 2)
    assert late.evidence == ["late", "no-ship-by"]


@pytest.mark.parametrize(
    ("first_total", "level"),
    [("1", "top_rated"), ("0.99", "above_standard")],  # sales of exactly 1,000.00, or 0.01 short
)
def test_ebay_top_rated_needs_sales_of_1000(engine, first_total, level):
    seller = Seller(marketplace="ebay")
    seller.order("first", ago(days=100), total=first_total)
    for i in range(100):
        seller.order(
            f"o{i}", ago(days=5), total="9.99", tracking_id="1Z", tracking_valid=True,
            ship_by=ago(days=3), shipped_at=ago(days=4),
        )  # fmt: skip
    seller.save(engine)
    assert check(engine, "ebay")[1].extra["level"] == level


# --- Etsy ---------------------------------------------------------------------------------


def _etsy_shop(currency="USD", orders=5, total="100"):
    seller = Seller(marketplace="etsy")
    seller.order("oldest", ago(days=120), total="1", currency=currency)
    for i in range(orders):
        seller.order(
            f"o{i}",
            ago(days=10),
            total=total,
            currency=currency,
            ship_by=ago(days=8),
            shipped_at=ago(days=9),
            tracking_id=None if i == 0 else "1Z",
        )
    return seller


def test_etsy_ineligible_shop_reports_counts_and_reasons(engine):
    _etsy_shop(orders=4).save(engine)
    results, account = check(engine, "etsy")
    dispatch = results["etsy.on_time_dispatch_with_tracking"]
    assert (dispatch.status, dispatch.value, dispatch.numerator, dispatch.denominator) == (
        "insufficient_data",
        None,
        3,
        4,
    )
    assert "at least 5 orders" in dispatch.message and "(has 4)" in dispatch.message


def test_etsy_tracking_required_only_for_usd_shops(engine):
    _etsy_shop("USD").save(engine)
    dispatch = check(engine, "etsy")[0]["etsy.on_time_dispatch_with_tracking"]
    assert (dispatch.numerator, dispatch.denominator, dispatch.status) == (4, 5, "warn")


def test_etsy_gbp_shop_needs_no_tracking(engine):
    _etsy_shop("GBP", total="50").save(engine)
    dispatch = check(engine, "etsy")[0]["etsy.on_time_dispatch_with_tracking"]
    assert (dispatch.numerator, dispatch.status) == (5, "ok")


def test_etsy_counts_only_opening_messages(engine):
    seller = _etsy_shop()
    seller.message("open", "t1", ago(days=5), "in")
    seller.message("reply", "t1", ago(days=4), "out")
    seller.message("follow-up", "t1", ago(days=3), "in")  # never stands in for the opener
    seller.message("seller-first", "t2", ago(days=5), "out")
    seller.message("buyer-second", "t2", ago(days=4), "in")
    seller.message("tie-a", "t3", ago(days=5), "in")
    seller.message("tie-b", "t3", ago(days=5), "in")
    seller.message("quiet", "t4", ago(days=5), "in", needs_reply=False)
    seller.message("quiet-2", "t4", ago(days=4), "in")
    seller.save(engine)
    rate = check(engine, "etsy")[0]["etsy.message_response_24h"]
    assert (rate.numerator, rate.denominator) == (1, 2)
    assert rate.evidence == ["tie-a"]


def test_etsy_average_rating_is_unrounded(engine):
    seller = _etsy_shop()
    for i, stars in enumerate([5, 5, 5, 5, 4]):
        seller.event(f"r{i}", "review", ago(days=3), rating=stars)
    seller.save(engine)
    rating = check(engine, "etsy")[0]["etsy.average_review_rating"]
    assert (rating.value, rating.status, rating.numerator, rating.denominator) == (
        Fraction(24, 5),
        "ok",
        None,
        5,
    )


# --- Walmart ------------------------------------------------------------------------------


def test_walmart_refund_and_feedback_rates(engine):
    seller = Seller(marketplace="walmart")
    for i in range(10):
        seller.order(f"o{i}", ago(days=5), refunded_at=ago(days=4) if i < 1 else None)
    seller.event("bad-review", "review", ago(days=2), order_id="o2", rating=2)
    seller.event("ok-review", "review", ago(days=2), order_id="o3", rating=3)
    seller.save(engine)
    results = check(engine, "walmart")[0]
    assert (results["walmart.refund_rate"].value, results["walmart.refund_rate"].status) == (
        Fraction(1, 10),
        "breach",
    )
    assert results["walmart.negative_feedback_rate"].evidence == ["o2"]


# --- Facebook -----------------------------------------------------------------------------


def test_facebook_new_messages_need_24_hours_of_silence(engine):
    seller = Seller(marketplace="facebook")
    m = {"channel": "messenger"}
    seller.message("a1", "t", ago(days=3), "in", **m)  # outside the 7 d window? no: inside
    seller.message("a2", "t", ago(days=2), "in", **m)  # exactly 24 h after a1: silence broken
    seller.message("b1", "u", ago(days=2), "in", **m)
    seller.message("b2", "u", ago(days=2), "in", **m)  # same instant: both new
    seller.message("b-reply", "u", ago(days=2, minutes=-20), "out", channel="email")
    seller.message("c1", "v", ago(days=3), "in", needs_reply=False, **m)  # not new, breaks silence
    seller.message("c2", "v", ago(days=2, hours=1), "in", **m)
    seller.message("d1", "w", ago(days=1), "in")  # marketplace channel: not a messenger message
    seller.save(engine)
    results = check(engine, "facebook")[0]
    rate = results["facebook.response_rate"]
    assert (rate.numerator, rate.denominator) == (2, 3)
    assert rate.evidence == ["a1"]
    time = results["facebook.response_time"]
    assert (time.value, time.denominator, time.status) == (Fraction(1200), 2, "warn")


# --- service ------------------------------------------------------------------------------


def test_first_response_time_median_and_p90(engine):
    seller = Seller(marketplace="other")
    for i, minutes in enumerate([10, 20, 30, 40, 50, 60, 70, 80, 90, 600]):
        seller.message(f"q{i}", f"t{i}", ago(days=5), "in")
        seller.message(f"r{i}", f"t{i}", ago(days=5, minutes=-minutes), "out")
    seller.message("q-noreply", "tn", ago(days=5), "in")
    seller.message("q-quiet", "tq", ago(days=5), "in", needs_reply=False)
    seller.message("r-quiet", "tq", ago(days=4), "out")
    seller.save(engine)
    frt = check(engine, "service")[0]["service.first_response_time"]
    assert frt.denominator == 10
    assert frt.value == Fraction(55 * 60)  # (50 + 60) / 2 minutes
    assert frt.p90 == Fraction(90 * 60)  # ceil(0.9 * 10) = 9th smallest
    assert frt.status == "ok" and frt.numerator is None and frt.headroom is None


def test_backlog_resolution_rate_and_time(engine):
    seller = Seller(marketplace="other")
    seller.message("a", "waiting", ago(days=2), "in")
    seller.message("b1", "answered", ago(days=2), "in")
    seller.message("b2", "answered", ago(days=1), "out", resolved_at=ago(hours=20))
    seller.message("c1", "resolved-only", ago(days=3), "in")
    seller.message("c2", "resolved-only", ago(days=3, hours=-1), "in", resolved_at=ago(days=1))
    seller.message("d1", "reopened", ago(days=4), "in", resolved_at=ago(days=3, hours=12))
    seller.message("d2", "reopened", ago(days=3), "in")  # after the resolution: waiting again
    seller.message("e1", "no-reply-needed", ago(days=2), "in", needs_reply=False)
    seller.save(engine)
    results = check(engine, "service")[0]
    backlog = results["service.backlog"]
    assert (backlog.value, backlog.numerator, backlog.denominator) == (2, 2, 5)
    assert backlog.evidence == ["reopened", "waiting"]
    assert backlog.headroom == 18
    rate = results["service.resolution_rate"]
    assert (rate.numerator, rate.denominator) == (3, 5)
    mttr = results["service.resolution_time"]
    # answered: 2 d - 20 h = 28 h; resolved-only: 3 d - 1 d = 48 h; reopened: 4 d - 3.5 d = 12 h
    assert mttr.value == Fraction((28 + 48 + 12) * 3600, 3)


def test_nps_csat_ces_and_negative_feedback(engine):
    seller = Seller(marketplace="other")
    for i, score in enumerate([10, 9, 8, 6, 0]):
        seller.event(f"n{i}", "survey", ago(days=1), survey="nps", rating=score)
    for i, score in enumerate([5, 4, 3]):
        seller.event(f"c{i}", "survey", ago(days=1), survey="csat", rating=score)
    for i, score in enumerate([2, 3]):
        seller.event(f"e{i}", "survey", ago(days=1), survey="ces", rating=score)
    seller.event("f1", "feedback", ago(days=1), order_id="o", rating=1)
    seller.event("f2", "review", ago(days=1), rating=5)
    seller.save(engine)
    results = check(engine, "service")[0]
    assert results["service.nps"].value == 0 and results["service.nps"].status == "ok"
    assert results["service.nps"].evidence == ["n3", "n4"]
    assert (
        results["service.csat"].value == Fraction(2, 3) and results["service.csat"].status == "warn"
    )
    assert results["service.ces"].value == Fraction(5, 2) and results["service.ces"].status == "ok"
    assert results["service.negative_feedback_rate"].value == Fraction(1, 2)


def test_tickets_per_agent_and_repeat_purchases(engine):
    seller = Seller(marketplace="other")
    seller.message("a1", "t1", ago(days=1), "out", agent="ana")
    seller.message("a2", "t2", ago(days=1), "out", agent="ana", automated=True)
    seller.message("a3", "t2", ago(days=1), "out", agent="ana")
    seller.message("b1", "t1", ago(days=1), "out", agent="bo")
    seller.message("x", "t3", ago(days=1), "out")
    seller.order("p1", ago(days=300), buyer_id="repeat")
    seller.order("p2", ago(days=3), buyer_id="repeat", status="cancelled")
    seller.order("p3", ago(days=3), buyer_id="once")
    seller.order("p4", ago(days=400), buyer_id="lapsed")
    seller.order("p5", ago(days=2), buyer_id="lapsed")
    seller.order("p6", ago(days=2))
    seller.save(engine)
    results = check(engine, "service")[0]
    agents = results["service.tickets_per_agent"]
    assert (agents.value, agents.denominator, agents.evidence) == (Fraction(3, 2), 2, ["ana", "bo"])
    repeat = results["service.repeat_purchase_rate"]
    assert (repeat.numerator, repeat.denominator) == (1, 3)
