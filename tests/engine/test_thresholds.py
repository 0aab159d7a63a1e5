from fractions import Fraction

import pytest

from seller_health.engine.thresholds import Comparison, Condition, ConditionError, rate_headroom


def cond(text: str, count: str | None = None) -> Condition:
    return Condition(Comparison.parse(text), Comparison.parse(count) if count else None)


def test_comparison_is_exact_not_float():
    assert Comparison.parse(">= 0.01").holds(Fraction(4, 400))
    assert not Comparison.parse("> 0.01").holds(Fraction(4, 400))
    assert Comparison.parse("< 0.95").holds(Fraction(94999, 100000))


@pytest.mark.parametrize("bad", ["=> 1", "0.01", ">= 1%", ">= abc", "", None, True])
def test_bad_conditions_are_refused(bad):
    with pytest.raises(ConditionError):
        Comparison.parse(bad)


def test_headroom_for_bad_numerator():
    odr = cond(">= 0.01")
    assert rate_headroom(odr, 4, 400, None, good=False) == -1  # 4/400 breaches; 3/400 does not
    assert rate_headroom(odr, 3, 400, None, good=False) == 0
    assert rate_headroom(odr, 0, 400, None, good=False) == 3
    assert rate_headroom(odr, 10, 400, None, good=False) == -7
    assert rate_headroom(odr, 0, 50, None, good=False) == 0  # 1/50 = 2% already breaches


def test_headroom_for_good_numerator():
    tracking = cond("< 0.95")
    assert rate_headroom(tracking, 100, 100, None, good=True) == 5  # 95/100 still not < 95%
    assert rate_headroom(tracking, 94, 100, None, good=True) == -1


def test_headroom_under_compound_condition():
    tdr = cond("> 0.02", "> 4")
    # 4 bad buyers of 100 orders: rate 4% > 2% but count 4 is not > 4 -> ok; one more breaches
    assert rate_headroom(tdr, 4, 100, 4, good=False) == 0
    # 6 of 1000: rate 0.6% not above 2%, count up to 20 before rate > 2% (21/1000)
    assert rate_headroom(tdr, 6, 1000, 6, good=False) == 14
    # breach with 10 of 100: must fall to count 4 (rate 4% still > 2%)
    assert rate_headroom(tdr, 10, 100, 10, good=False) == -6


def test_headroom_none_when_no_escape():
    always = cond(">= 0")
    assert rate_headroom(always, 0, 10, None, good=False) is None
