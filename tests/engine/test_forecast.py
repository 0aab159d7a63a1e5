"""Breach forecasts: the projection arithmetic by hand, its boundaries, and the engine end to end.

Every expected date below is worked out in the comments, so a reader can check the model
without running it. Day ``k`` is the instant ``T + k days``; the window then holds the ages
younger than ``days - k`` plus ``floor(k * pace)`` new items.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from seller_health.engine.evaluate import evaluate
from seller_health.engine.forecast import (
    Limits,
    Reason,
    Window,
    crossing,
    forecast,
    history_trend,
    recovery,
)
from seller_health.engine.rules import builtin_pack
from seller_health.engine.thresholds import Comparison, Condition
from seller_health.engine.wording import describe_forecast
from seller_health.model.document import rule_document, rule_from_document
from seller_health.store.history import load_run, save_run
from tests.factory import Seller, T, ago


def cond(rate: str, count: str | None = None) -> Condition:
    return Condition(Comparison.parse(rate), Comparison.parse(count) if count else None)


# Amazon's ODR: breach at 1%, warn at 0.75%.
ODR = Limits(breach=cond(">= 0.01"), warn=cond(">= 0.0075"))
# Valid tracking counts good items: breach below 95%, warn below 96%.
TRACKING = Limits(breach=cond("< 0.95"), warn=cond("< 0.96"), good=True)
# eBay's transaction defects: above 2% and above 4 buyers (no warn, to keep the sums short).
EBAY = Limits(breach=cond("> 0.02", "> 4"), warn=None)
# A backlog: a count metric, warn above 20.
BACKLOG = Limits(breach=None, warn=cond("> 20"), counts=True)


def window(days: int, per_day: int, bad: dict[int, int], **extra: object) -> Window:
    """``per_day`` items at every age, ``bad[age]`` of them bad."""
    by_age = {age: (per_day, bad.get(age, 0)) for age in range(days)}
    return Window(T, days, days * per_day, sum(bad.values()), by_age=by_age, **extra)


def checks(*values: str, every: int = 2) -> list[tuple[datetime, Fraction]]:
    """Earlier checks ``every`` days apart, the last one ``every`` days before T."""
    n = len(values)
    return [(T - timedelta(days=every * (n - i)), Fraction(v)) for i, v in enumerate(values)]


# --- recovery by roll-off -------------------------------------------------------------------


def test_recovery_steps_down_as_old_defects_leave():
    # 240 orders, 4 a day over 60 days; 3 defects at ages 55, 45 and 30: 3/240 = 1.25%, breach.
    # Best case: 240/60 = 4 new orders a day and no new defect, so each day 4 orders leave and 4
    # arrive: always 240. The defect of age 55 leaves on day 5 (ages >= 60 - 5 have gone):
    # 2/240 = 0.83% >= 0.75%, warn. The one of age 45 leaves on day 15: 1/240 = 0.42%, ok.
    w = window(60, 4, {55: 1, 45: 1, 30: 1})
    f = recovery(w, ODR, items="orders")
    assert f is not None and (f.kind, f.status_now) == ("recovery", "breach")
    assert [(s.status, s.days) for s in f.steps] == [("warn", 5), ("ok", 15)]
    warn, ok = f.steps
    assert (warn.value, warn.numerator, warn.denominator) == (Fraction(2, 240), 2, 240)
    assert (ok.value, ok.leaving, ok.arriving) == (Fraction(1, 240), 2, 0)
    assert (warn.threshold, ok.threshold) == (">= 0.01", ">= 0.0075")  # the condition left
    assert (f.status, f.days, f.at) == ("ok", 15, T + timedelta(days=15))
    # 240 orders (>= 200), no defect in the last 14 days, 15 days ahead (<= 30): high.
    assert (f.confidence, f.reasons) == ("high", ())
    # At the current pace (56 orders, no defect in 14 days) the rate heads to 0: falling.
    assert (f.direction, f.recent_items, f.recent_bad) == ("falling", 56, 0)
    assert describe_forecast(f, "Order Defect Rate") == (
        "Order Defect Rate 1.25% and falling: recovers to warn on 6 November and to ok on "
        "16 November as 2 bad orders leave the window, if no new bad orders arrive"
    )


def test_recovery_of_the_issue_example_200_orders_3_defects():
    # 200 orders over 60 days: 4 a day at ages 0-19, 3 a day at ages 20-59. 3 defects at ages
    # 50, 40 and 10: 3/200 = 1.5%, breach. New orders by day k: floor(k * 200/60); exits by
    # day k (k <= 40): 3k. Day 10 (age 50 leaves): 200 - 30 + floor(33.3) = 203 orders, 2 bad:
    # 0.985%, under 1% but not under 0.75%: warn (days 1-9 keep 3 defects over <= 203 orders,
    # still breach). Day 20 (age 40 leaves): 200 - 60 + floor(66.7) = 206 orders, 1 bad:
    # 0.485%, ok.
    by_age = {a: (4 if a < 20 else 3, 1 if a in (50, 40, 10) else 0) for a in range(60)}
    f = recovery(Window(T, 60, 200, 3, by_age=by_age), ODR, items="orders")
    assert [(s.status, s.days, s.numerator, s.denominator) for s in f.steps] == [
        ("warn", 10, 2, 203),
        ("ok", 20, 1, 206),
    ]
    # The defect of age 10 arrived in the last 14 days: the best case is already failing.
    # 200 orders is enough (>= 200), so that is the only reason.
    assert (f.confidence, f.reasons) == ("low", (Reason("recent_bad", 1, 14),))


def test_recovery_of_a_good_rate_with_new_bad_items_is_low_confidence():
    # Valid tracking over 30 days, 4 orders a day = 120; 7 without valid tracking (ages 29, 28,
    # 27, 20, 15, 10, 2): 113/120 = 94.17% < 95%, breach. Breach while good < 114 (bad >= 7),
    # warn while good < 115.2 (bad >= 5). Day 1: age 29 gone, good 114/120 = 95%: warn. Day 3:
    # ages 28 and 27 gone too, good 116/120 = 96.67%: ok, with 3 bad orders gone.
    w = window(30, 4, {29: 1, 28: 1, 27: 1, 20: 1, 15: 1, 10: 1, 2: 1})
    f = recovery(w, TRACKING, items="orders")
    assert (f.numerator, f.value) == (113, Fraction(113, 120))
    assert [(s.status, s.days, s.numerator) for s in f.steps] == [("warn", 1, 114), ("ok", 3, 116)]
    assert [s.threshold for s in f.steps] == ["< 0.95", "< 0.96"]
    assert f.steps[-1].leaving == 3
    # Ages 10 and 2 are in the last 14 days (2 new bad orders, low); 120 orders (< 200, medium).
    assert f.confidence == "low"
    assert f.reasons == (Reason("recent_bad", 2, 14), Reason("few_items", 120))
    assert describe_forecast(f).endswith(
        "(low confidence: new bad orders still arriving (2 in the last 14 days); "
        "120 orders in the window)"
    )


def test_recovery_of_a_compound_limit_counts_buyers_leaving():
    # 90 days of 10 orders = 900. Bad orders by buyer (youngest bad order's age): A 4 at age 89,
    # B 4 at 88, C 4 at 60, D 4 at 50, E 20 at 5: 36/900 = 4% > 2% and 5 buyers > 4: breach.
    # Day 1: A's orders leave: 32/900 = 3.56%, still above 2%, but 4 buyers: no longer > 4, ok.
    # Without following buyers (count_by_age) it would wait until the rate fell under 2%.
    bad = {89: 4, 88: 4, 60: 4, 50: 4, 5: 20}
    w = window(90, 10, bad, count=5, count_by_age={89: 1, 88: 1, 60: 1, 50: 1, 5: 1})
    f = recovery(w, EBAY, items="orders")
    assert [(s.status, s.days, s.numerator, s.count) for s in f.steps] == [("ok", 1, 32, 4)]
    assert f.steps[0].threshold == "> 0.02 and count > 4"


def test_recovery_by_dilution_alone_says_so():
    # Breach above 9%. 10 days of 1 item, the one of age 2 bad: 1/10 = 10%. Best case: 1 new
    # item a day and 1 leaving, so 10 items until the bad one leaves on day 8 (ages >= 10 - 8).
    limits = Limits(breach=cond("> 0.09"), warn=None)
    f = recovery(window(10, 1, {2: 1}), limits, items="items")
    assert [(s.status, s.days, s.leaving) for s in f.steps] == [("ok", 8, 1)]
    # Now the same bad item in a window whose old days are empty: 10 items all at ages 0-4
    # (2 a day), the bad one at age 2, window 10 days. Average pace 1 a day and nothing leaves
    # before day 5 (ages >= 5 are empty): day 1 has 11 items, 1/11 = 9.09% > 9%; day 2 has 12,
    # 1/12 = 8.33%: ok by dilution alone, no bad item gone.
    by_age = {a: (2, 1 if a == 2 else 0) for a in range(5)}
    f = recovery(Window(T, 10, 10, 1, by_age=by_age), limits, items="items")
    assert [(s.status, s.days, s.leaving, s.denominator) for s in f.steps] == [("ok", 2, 0, 12)]
    assert "as new items dilute the bad ones" in describe_forecast(f)


# --- crossing at the current pace -----------------------------------------------------------


def test_crossing_reaches_warn_then_breach_at_the_recent_pace():
    # 480 orders, 8 a day over 60 days; defects at ages 1, 5 and 12: 3/480 = 0.625%, ok.
    # Pace of the last 14 days: 112 orders, 3 defects. Day k: 480 - 8k + floor(112k/14) = 480
    # orders, and 3 + floor(3k/14) defects (none of today's defects leaves before day 48).
    # Warn needs >= 0.75% of 480 = 3.6, so 4 defects: 3k >= 14, k = 5. Breach needs >= 4.8,
    # so 5 defects: 3k >= 28, k = 10.
    w = window(60, 8, {1: 1, 5: 1, 12: 1})
    f = crossing(w, ODR, items="orders")
    assert f is not None and (f.kind, f.status_now) == ("crossing", "ok")
    assert [(s.status, s.days, s.numerator, s.arriving) for s in f.steps] == [
        ("warn", 5, 4, 1),
        ("breach", 10, 5, 2),
    ]
    assert (f.status, f.at) == ("breach", T + timedelta(days=10))
    assert [s.threshold for s in f.steps] == [">= 0.0075", ">= 0.01"]
    # Day 60: every order of today gone; floor(60 * 3/14) = 12 defects of 480 = 2.5%: rising.
    assert f.direction == "rising"
    # No earlier check (low) and a pace resting on 3 defects (3 <= pace < 10: medium).
    assert f.confidence == "low"
    assert f.reasons == (Reason("few_checks", 0), Reason("few_recent_bad", 3, 14))
    assert describe_forecast(f, "ODR") == (
        "ODR 0.62% and rising: reaches warn (≥ 0.75%) in about 5 days and breach (≥ 1.00%) in "
        "about 10 days at the current pace (low confidence: no earlier check to confirm the "
        "trend; the pace rests on 3 bad orders in the last 14 days)"
    )
    # The same with five earlier checks on a clean line up to today: the trend agrees, so the
    # only reason left is the thin pace: medium.
    history = checks("0.0040", "0.0045", "0.0050", "0.0055", "0.0060")
    f = crossing(w, ODR, history, items="orders")
    assert (f.trend, f.checks) == ("rising", 5)
    assert (f.confidence, f.reasons) == ("medium", (Reason("few_recent_bad", 3, 14),))


def test_exactly_at_the_threshold_is_reached():
    # 50 days of 8 orders = 400; defects at ages 30, 20 and 3: 3/400 = 0.75% exactly, warn
    # (>= is inclusive). Pace: 112 orders and 1 defect in 14 days. Day k: 400 orders and
    # 3 + floor(k/14) defects, minus the age-30 one from day 20 (50 - 20 = 30). Day 14: 4/400
    # = 1% exactly: breach.
    w = window(50, 8, {30: 1, 20: 1, 3: 1})
    assert ODR.status(400, 3, None) == "warn"
    assert ODR.status(400, 4, None) == "breach"
    assert ODR.status(401, 3, None) == "ok"  # 0.748%
    f = forecast(w, ODR, items="orders")
    assert f.kind == "crossing" and f.status_now == "warn"
    assert [(s.status, s.days, s.value) for s in f.steps] == [("breach", 14, Fraction(1, 100))]


def test_jumping_two_statuses_in_one_day_keeps_the_worse():
    # 300 orders, 5 a day over 60 days; defects at ages 2 and 9: 2/300 = 0.67%, ok. Pace:
    # 70 orders, 2 defects in 14 days, so 2 + floor(k/7) defects over 300 orders. Warn needs
    # 2.25 and breach 3 defects: both on day 7. One step, breach.
    f = crossing(window(60, 5, {2: 1, 9: 1}), ODR, items="orders")
    assert [(s.status, s.days) for s in f.steps] == [("breach", 7)]


def test_crossing_of_a_compound_limit_counts_each_new_bad_item_as_a_new_buyer():
    # 90 days of 10 orders = 900. Bad: buyer A 10 at age 80, B 10 at 70, C 5 at 60, D 2 at 7:
    # 27/900 = 3% > 2% but 4 buyers, not > 4: ok. Pace: 2 bad in 14 days. Day 7:
    # floor(7 * 2/14) = 1 new bad order, a new buyer: 28/900 and 5 buyers: breach. (Nothing
    # bad leaves before day 10, when age 80 does.)
    bad = {80: 10, 70: 10, 60: 5, 7: 2}
    w = window(90, 10, bad, count=4, count_by_age={80: 1, 70: 1, 60: 1, 7: 1})
    f = crossing(w, EBAY, items="orders")
    assert [(s.status, s.days, s.numerator, s.count) for s in f.steps] == [("breach", 7, 28, 5)]


def test_a_count_metric_rises_with_its_pace():
    # A backlog over 30 days: 1 conversation a day, waiting ones at ages 0-17 (18, ok under
    # > 20). Pace: 14 waiting in 14 days, 1 a day. Day k: the waiting ones that leave are those
    # of age >= 30 - k, none before day 13, and k new ones arrive: 18 + k. Day 3: 21 > 20.
    w = window(30, 1, {a: 1 for a in range(18)})
    f = crossing(w, BACKLOG, items="conversations")
    assert f.unit == "count" and f.value == 18
    assert [(s.status, s.days, s.value) for s in f.steps] == [("warn", 3, 21)]
    assert describe_forecast(f).startswith("18 and rising: reaches warn (> 20) in about 3 days")


def test_no_date_without_a_recent_pace():
    # 140 orders, all at ages 20-59 (4 a day, then 3 a day from age 40), one defect: 0.71%.
    # Nothing arrived in the last 14 days. The pace is zero: no date, and the reason.
    by_age = {a: (4 if a < 40 else 3, 1 if a == 30 else 0) for a in range(20, 60)}
    f = crossing(Window(T, 60, 140, 1, by_age=by_age), ODR, items="orders")
    assert f.withheld and f.steps == () and f.at is None
    assert (f.confidence, f.reasons) == ("low", (Reason("no_recent_items", days=14),))
    assert describe_forecast(f) == (
        "0.71%: no date can be projected (low confidence: no new orders in the last 14 days)"
    )


def test_no_recovery_date_without_a_recent_pace_or_with_a_tiny_sample():
    # 240 orders at ages 20-59 (6 a day), none in the last 20 days, defects at ages 40, 45, 50:
    # 1.25%, breach. The best case assumes new orders at the window's pace, which the last two
    # weeks contradict: if none come, 2/180 is still 1.11% on day 10. No date.
    by_age = {a: (6, 1 if a in (40, 45, 50) else 0) for a in range(20, 60)}
    f = recovery(Window(T, 60, 240, 3, by_age=by_age), ODR, items="orders")
    assert f.kind == "recovery" and f.withheld and f.steps == () and f.at is None
    assert (f.confidence, f.reasons) == ("low", (Reason("no_recent_items", days=14),))
    assert describe_forecast(f).endswith(
        "no date can be projected (low confidence: no new orders in the last 14 days)"
    )
    # 5 orders, 1 bad (20%): one order moves the rate by a fifth.
    tiny = forecast(window(5, 1, {0: 1}), ODR, items="orders")
    assert tiny.kind == "recovery" and tiny.withheld and tiny.steps == ()
    assert tiny.reasons == (Reason("few_items", 5),)


def test_no_date_for_a_tiny_sample():
    # 5 orders, one bad, 20%: that is breach, so take a rule it does not breach yet.
    limits = Limits(breach=cond(">= 0.5"), warn=None)
    f = forecast(window(5, 1, {0: 1}), limits, items="orders")
    assert f.kind == "crossing" and f.withheld and f.steps == ()
    assert f.reasons == (Reason("few_items", 5),)


def test_nothing_bad_stays_steady_and_needs_no_schedule():
    # No bad order now or arriving: the status cannot change. The engine sends only the recent
    # counts for such an account; the answer is the same as with the whole schedule.
    full = crossing(window(60, 8, {}), ODR, items="orders")
    lean = crossing(Window(T, 60, 480, 0, recent_counts=(112, 0)), ODR, items="orders")
    assert full is not None and lean is not None
    assert (full.direction, full.steps, full.recent_items) == ("steady", (), 112)
    assert full == lean
    assert describe_forecast(full).startswith(
        "0.00% and steady: stays ok for the next 60 days at the current pace"
    )


def test_a_far_date_says_so():
    # 60 days of 10 = 600 orders; defects at ages 59, 58, 57 and 0: 4/600 = 0.67%, ok. Pace:
    # 140 orders, 1 defect in 14 days. Day k: 600 orders; the old defects leave on days 1-3 and
    # floor(k/14) arrive, so 1 + floor(k/14) defects from day 3 until the age-0 one leaves on
    # day 60. Warn needs 0.75% of 600 = 4.5, so 5: floor(k/14) = 4 on day 56.
    w = window(60, 10, {59: 1, 58: 1, 57: 1, 0: 1})
    f = crossing(w, ODR, items="orders")
    assert [(s.status, s.days, s.numerator) for s in f.steps] == [("warn", 56, 5)]
    # On day 60: 0 + floor(60/14) = 4 defects of 600, today's rate again: steady.
    assert f.direction == "steady"
    # No earlier check and a pace of one defect (low), 56 days ahead (medium).
    assert f.reasons == (
        Reason("few_checks", 0),
        Reason("few_recent_bad", 1, 14),
        Reason("far_ahead", days=30),
    )


def test_no_forecast_without_a_condition_or_a_status():
    assert forecast(window(30, 1, {}), Limits(breach=None, warn=None)) is None
    assert forecast(Window(T, 30, 0, 0), ODR) is None  # no item: insufficient data
    assert crossing(window(60, 4, {55: 1, 45: 1, 30: 1}), ODR) is None  # breach: no crossing
    assert recovery(window(60, 8, {1: 1}), ODR) is None  # ok: nothing to recover from


def test_a_warning_rule_that_will_not_breach_gets_its_recovery():
    # 480 orders; defects at ages 50, 40, 30, 20 (4/480 = 0.83%, warn), none recent: no
    # crossing, so the recovery. Day 10 (age 50 gone): 3/480 = 0.625%, ok.
    f = forecast(window(60, 8, {50: 1, 40: 1, 30: 1, 20: 1}), ODR, items="orders")
    assert f.kind == "recovery" and f.status_now == "warn"
    assert [(s.status, s.days) for s in f.steps] == [("ok", 10)]


# --- history --------------------------------------------------------------------------------


def test_history_trend_by_least_squares():
    value = Fraction(6, 1000)
    up = checks("0.002", "0.003", "0.004", "0.005")
    assert history_trend(up, T, value, ODR, 60).direction == "rising"
    down = checks("0.010", "0.009", "0.008", "0.007")
    assert history_trend(down, T, value, ODR, 60).direction == "falling"
    flat = checks("0.006", "0.006", "0.006")
    assert history_trend(flat, T, value, ODR, 60).direction == "steady"
    # Up, down, up, down around the same level: the line explains little (R² < 1/2).
    noisy = history_trend(checks("0.002", "0.010", "0.002", "0.010"), T, value, ODR, 60)
    assert (noisy.direction, noisy.noisy, noisy.checks) == (None, True, 4)
    # One earlier check says nothing.
    assert history_trend(checks("0.002"), T, value, ODR, 60).direction is None
    # A tiny slope is steady: 0.00600 to 0.00605 moves under a tenth of 0.6%.
    assert (
        history_trend(checks("0.00600", "0.00602"), T, Fraction(605, 100000), ODR, 60).direction
        == "steady"
    )


def test_history_ignores_checks_outside_the_window_or_not_earlier():
    # Checks at T-30 and T-15: in a 25-day window only T-15 counts; one at T itself never does.
    points = checks("0.001", "0.002", every=15) + [(T, Fraction(1, 2))]
    trend = history_trend(points, T, Fraction(3, 1000), ODR, 25)
    assert trend.checks == 1 and trend.direction is None


def test_history_disagreeing_with_the_pace_lowers_confidence():
    w = window(60, 8, {1: 1, 5: 1, 12: 1})  # rising at the pace (see above)
    history = checks("0.0090", "0.0080", "0.0075", "0.0070", "0.0066")  # falling to today
    f = crossing(w, ODR, history, items="orders")
    assert (f.direction, f.trend) == ("rising", "falling")
    assert f.confidence == "low" and Reason("history_disagrees") in f.reasons
    assert "earlier checks show it falling" in describe_forecast(f)


# --- through the engine ---------------------------------------------------------------------

ODR_ID = "amazon.order_defect_rate"
TDR_ID = "ebay.transaction_defect_rate"


def _amazon(engine) -> None:
    # "rec": 240 orders over 60 days, defects at ages 55, 45, 30 (the first test above).
    # "cross": 480 orders over 60 days, defects at ages 1, 5, 12 (the crossing test above).
    # Order "age" is at T - age days - 12 h, so in day bucket ``age``; its claim an hour later.
    for account, per_day, defects in (("rec", 4, (55, 45, 30)), ("cross", 8, (1, 5, 12))):
        seller = Seller(account)
        for age in range(60):
            for i in range(per_day):
                seller.order(f"{account}-{age}-{i}", ago(days=age, hours=12))
        for age in defects:
            order = f"{account}-{age}-0"
            seller.event(f"claim-{age}", "a_to_z_claim", ago(days=age, hours=11), order_id=order)
        seller.save(engine)


def test_evaluate_attaches_forecasts_that_match_the_hand_computation(engine):
    _amazon(engine)
    result = evaluate(engine, [builtin_pack("amazon")], T)
    by_account = {a.account_id: {r.rule: r for r in a.results} for a in result.accounts}

    rec = by_account["rec"][ODR_ID]
    assert rec.status == "breach" and rec.forecast is not None
    f = rec.forecast
    assert (f.kind, f.numerator, f.denominator) == ("recovery", 3, 240)
    assert [(s.status, s.days, s.numerator, s.denominator) for s in f.steps] == [
        ("warn", 5, 2, 240),
        ("ok", 15, 1, 240),
    ]
    # The single roll-off is the exact instant the oldest defect leaves (T - 55.5 d + 60 d);
    # the forecast's first step is the first daily check after it.
    assert rec.rolloff is not None and rec.rolloff.at == T + timedelta(days=4, hours=12)
    assert f.steps[0].at == T + timedelta(days=5)

    cross = by_account["cross"][ODR_ID]
    assert cross.status == "ok"
    assert [(s.status, s.days) for s in cross.forecast.steps] == [("warn", 5), ("breach", 10)]

    # Every result round-trips through its JSON exactly, forecast included.
    for account in result.accounts:
        for r in account.results:
            assert rule_from_document(rule_document(r, exact=True)) == r
            assert rule_from_document(rule_document(r)).forecast == r.forecast
    doc = rule_document(rec, describe=describe_forecast)["forecast"]
    assert (doc["status"], doc["at"], doc["days"], doc["confidence"]) == (
        "ok",
        "2026-11-16T00:00:00Z",
        15,
        "high",
    )
    assert doc["text"].startswith("Order Defect Rate 1.25% and falling: recovers to warn on 6")


def test_stored_runs_feed_the_trend_and_re_render_exactly(engine):
    _amazon(engine)
    pack = builtin_pack("amazon")
    for days in (6, 4, 2):
        save_run(engine, evaluate(engine, [pack], T - timedelta(days=days)))
    result = evaluate(engine, [pack], T)
    cross = next(
        r for a in result.accounts if a.account_id == "cross" for r in a.results if r.rule == ODR_ID
    )
    # The earlier checks of "cross": at T-6 d the orders of ages 6-59 (432) with 1 defect
    # (age 12; the others were not yet bought), at T-4 d 448 with 2, at T-2 d 464 with 2, and
    # now 480 with 3: 0.23%, 0.45%, 0.43%, 0.62%, a rising line (R² about 0.87).
    f = cross.forecast
    assert (f.checks, f.trend, f.direction) == (3, "rising", "rising")
    # A trend on 3 checks (fewer than 4) and a pace on 3 defects: medium.
    assert f.confidence == "medium"
    assert f.reasons == (Reason("few_checks", 3), Reason("few_recent_bad", 3, 14))
    run_id = save_run(engine, result)
    again = load_run(engine, run_id)
    assert [a.results for a in again.accounts] == [a.results for a in result.accounts]


def test_compound_rule_counts_buyers_through_sql(engine):
    # eBay, 450 orders over 90 days (5 a day, >= 400 so the window is 90 days), each its own
    # buyer except the cancelled ones: buyers A-E each had 2 orders cancelled by the seller at
    # ages 89, 80, 70, 60, 50. 10/450 = 2.22% > 2% and 5 buyers > 4: breach. Best case, 5 new
    # orders a day: day 1, A leaves: 8/450 = 1.78% (> 0.5%) and 4 buyers (> 3): warn. Day 10
    # (ages >= 80 gone), B leaves: 3 buyers, not > 3: ok, with 4 bad orders gone.
    seller = Seller("bay", marketplace="ebay")
    cancelled = {89: "A", 80: "B", 70: "C", 60: "D", 50: "E"}
    for age in range(90):
        for i in range(5):
            fields: dict[str, object] = {"buyer_id": f"b-{age}-{i}"}
            if age in cancelled and i < 2:
                fields = {
                    "buyer_id": cancelled[age],
                    "status": "cancelled",
                    "cancelled_at": ago(days=age),
                    "cancelled_by": "seller",
                }
            seller.order(f"o-{age}-{i}", ago(days=age, hours=12), **fields)
    seller.save(engine)
    result = evaluate(engine, [builtin_pack("ebay")], T)
    tdr = next(r for r in result.accounts[0].results if r.rule == TDR_ID)
    assert (tdr.status, tdr.count, tdr.window_days) == ("breach", 5, 90)
    f = tdr.forecast
    assert [(s.status, s.days, s.numerator, s.count) for s in f.steps] == [
        ("warn", 1, 8, 4),
        ("ok", 10, 6, 3),
    ]
    assert f.steps[-1].leaving == 4
    assert f.confidence == "high"
    assert rule_from_document(rule_document(tdr, exact=True)) == tdr
