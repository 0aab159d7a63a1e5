"""Business-hours rules: delays count only open time, holidays come from the holidays library."""

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from seller_health.engine.calendar import CalendarError, open_periods
from seller_health.engine.evaluate import evaluate
from seller_health.engine.pack import CalendarSpec
from seller_health.engine.rules import parse_pack
from tests.factory import Seller

# Monday 2026-12-21 .. Tuesday 2026-12-29 in Rome; 25 and 26 December are Italian holidays.
AS_OF = datetime(2026, 12, 29, 17, 0, tzinfo=UTC)
ROME = {"timezone": "Europe/Rome", "hours": "09:00-17:00", "holidays": "IT"}


def pack(business_hours):
    rule = {
        "id": "mine.reply_8bh",
        "title": "Replies within 8 business hours",
        "of": "inbound_messages",
        "metric": "rate",
        "window": {"days": 30, "by": "sent_at"},
        "where": {
            "any": [{"happened": "reply_at"}, {"older_than": {"field": "sent_at", "hours": 8}}]
        },
        "good": {"within": {"from": "sent_at", "to": "reply_at", "hours": 8}},
        "breach": "< 0.9",
        "business_hours": business_hours,
    }
    median = {
        "id": "mine.median_reply",
        "title": "Median reply",
        "of": "inbound_messages",
        "metric": "median",
        "window": {"days": 30, "by": "sent_at"},
        "where": {"happened": "reply_at"},
        "value": {"duration": {"from": "sent_at", "to": "reply_at"}},
        "business_hours": business_hours,
    }
    return parse_pack({"pack": "mine", "rules": [rule, median]}, "mine.yaml")


def rome(day, hour, minute=0):
    return datetime(2026, 12, day, hour - 1, minute, tzinfo=UTC)  # CET is UTC+1 in December


def test_open_periods_skip_weekends_and_holidays():
    periods = open_periods(CalendarSpec(**ROME), AS_OF)
    starts = {datetime.fromtimestamp(s / 1e6, UTC).date().day for s, _, _ in periods[-8:]}
    assert 25 not in starts and 26 not in starts and 27 not in starts  # Fri, Sat holiday, Sun
    assert all(e - s == 8 * 3600 * 10**6 for s, e, _ in periods)


def test_unknown_calendars_are_refused():
    with pytest.raises(CalendarError, match="timezone"):
        open_periods(CalendarSpec(timezone="Mars/Olympus"), AS_OF)
    with pytest.raises(CalendarError, match="holiday"):
        open_periods(CalendarSpec(holidays="XX"), AS_OF)


def test_replies_measured_in_business_hours(engine):
    seller = Seller(marketplace="other")
    # Thu 24 Dec 16:00 -> Mon 28 Dec 15:00: 1 h on Thursday + 6 h Monday = 7 business hours
    seller.message("xmas", "t1", rome(24, 16), "in").message("r1", "t1", rome(28, 15), "out")
    # Mon 21 Dec 10:00 -> Tue 22 Dec 11:00: 7 h + 2 h = 9 business hours: late
    seller.message("slow", "t2", rome(21, 10), "in").message("r2", "t2", rome(22, 11), "out")
    # Fri 18 Dec 20:00 (closed) -> Mon 21 Dec 17:00: exactly 8 business hours
    seller.message("weekend", "t3", rome(18, 20), "in").message("r3", "t3", rome(21, 17), "out")
    # Tue 29 Dec 09:30, unanswered, only 6.5 business hours old at T (17:00 Rome is 16:00 UTC)
    seller.message("fresh", "t4", rome(29, 9, 30), "in")
    seller.save(engine)
    results = {r.rule: r for r in evaluate(engine, [pack(ROME)], AS_OF).accounts[0].results}
    rate = results["mine.reply_8bh"]
    assert (rate.numerator, rate.denominator, rate.evidence) == (2, 3, ["slow"])
    median = results["mine.median_reply"]
    assert median.value == Fraction(8 * 3600)  # of 7 h, 8 h and 9 h


def test_without_a_calendar_the_same_replies_use_calendar_time(engine):
    seller = Seller(marketplace="other")
    seller.message("xmas", "t1", rome(24, 16), "in").message("r1", "t1", rome(28, 15), "out")
    seller.save(engine)
    plain = parse_pack({"pack": "p", "rules": [{**_plain_rule()}]}, "p.yaml")
    rate = evaluate(engine, [plain], AS_OF).accounts[0].results[0]
    assert (rate.numerator, rate.denominator) == (0, 1)


def _plain_rule():
    return {
        "id": "p.reply",
        "title": "Reply",
        "of": "inbound_messages",
        "metric": "rate",
        "window": {"days": 30, "by": "sent_at"},
        "good": {"within": {"from": "sent_at", "to": "reply_at", "hours": 8}},
    }
