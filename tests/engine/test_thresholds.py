from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seller_health.engine.thresholds import (
    Comparison,
    Condition,
    ConditionError,
    Limits,
    rate_headroom,
    steps_and_recovery,
)


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


# --- steps and recovery (metrics.md "Steps and recovery") -----------------------------------

RANK = {"ok": 0, "warn": 1, "breach": 2}


def test_steps_and_recovery_of_the_spec_example():
    odr = Limits(breach=cond(">= 0.01"), warn=cond(">= 0.0075"))
    assert steps_and_recovery(odr, 400, 2, None) == ({"warn": 1, "breach": 2}, {})
    # 5 of 400: 3 fewer gives 2/400 (ok), 2 fewer gives 3/400 = 0.75% (still warn)
    assert steps_and_recovery(odr, 400, 5, None) == ({}, {"warn": 2, "ok": 3})


def test_good_counting_compound_and_count_rules():
    tracking = Limits(breach=cond("< 0.95"), warn=cond("< 0.96"), good=True)
    assert steps_and_recovery(tracking, 22, 0, None) == ({"warn": 1, "breach": 2}, {})
    ebay = Limits(breach=cond("> 0.02", "> 4"), warn=None)  # both parts must fail
    assert steps_and_recovery(ebay, 100, 3, 3) == ({"breach": 2}, {})
    assert steps_and_recovery(ebay, 1000, 3, 3) == ({"breach": 18}, {})  # 21/1000 > 2%
    backlog = Limits(breach=None, warn=cond("> 20"), counts=True)
    assert steps_and_recovery(backlog, 9, 5, None) == ({"warn": 16}, {})  # no population cap
    assert steps_and_recovery(backlog, 30, 25, None) == ({}, {"ok": 5})


def test_unreachable_statuses_are_null_and_no_status_is_empty():
    odr = Limits(breach=cond(">= 0.5"), warn=cond(">= 0.25"))
    assert steps_and_recovery(odr, 3, 0, None) == ({"warn": 1, "breach": 2}, {})
    never = Limits(breach=cond("> 1"), warn=None)  # more than 100%: no population reaches it
    assert steps_and_recovery(never, 10, 0, None) == ({"breach": None}, {})
    assert steps_and_recovery(odr, 0, 0, None) == ({}, {})  # insufficient data
    assert steps_and_recovery(Limits(breach=None, warn=None), 10, 3, None) == ({}, {})


def _brute(limits: Limits, items: int, bad: int, count: int | None):
    """The definition read literally: every k tried in turn."""
    now = limits.status(items, bad, count)

    def rank(k: int) -> int:
        return RANK[limits.status(items, bad + k, None if count is None else count + k)]

    steps = {
        name: next((k for k in range(1, items - bad + 1) if rank(k) >= RANK[name]), None)
        for name, c in (("warn", limits.warn), ("breach", limits.breach))
        if c is not None and RANK[name] > RANK[now]
    }
    better = {"breach": [("warn", limits.warn), ("ok", True)], "warn": [("ok", True)]}
    recovery = {
        name: next((k for k in range(1, bad + 1) if rank(-k) <= RANK[name]), None)
        for name, c in better.get(now, [])
        if c is not None
    }
    return steps, recovery


thresholds = st.builds(
    lambda bp, gap, good: (Fraction(bp, 10_000), Fraction(bp + gap, 10_000), good),
    st.integers(1, 9_000),
    st.integers(0, 500),
    st.booleans(),
)


@settings(max_examples=max(300, settings.default.max_examples), deadline=None)
@given(
    limit=thresholds,
    items=st.integers(1, 400),
    data=st.data(),
    strict=st.booleans(),
    compound=st.one_of(st.none(), st.integers(0, 8)),
)
def test_steps_and_recovery_match_the_definition_at_every_boundary(
    limit, items, data, strict, compound
):
    low, high, good = limit
    if good:  # a rate that must stay high: breach below the lower bound, warn below the upper
        ops = ("<=", "<") if strict else ("<", "<=")
        breach, warn = f"{ops[0]} {float(low)}", f"{ops[1]} {float(high)}"
    else:
        ops = (">", ">=") if strict else (">=", ">")
        breach, warn = f"{ops[0]} {float(high)}", f"{ops[1]} {float(low)}"
    count = f"> {compound}" if compound is not None else None
    limits = Limits(breach=cond(breach, count), warn=cond(warn, count), good=good)
    bad = data.draw(st.integers(0, items))
    counted = None if compound is None else data.draw(st.integers(0, bad))
    assert steps_and_recovery(limits, items, bad, counted) == _brute(limits, items, bad, counted)
