"""Breach forecasts: when a rule will cross its threshold at the current pace, and when it will
recover as old bad items leave its window.

Pure arithmetic over counts, with no SQL and no clock: the engine hands over how many items
(and bad items) each day of the window holds, the rule's conditions and the values of earlier
checks, and gets back a :class:`Forecast`. Keeping it pure is what makes every projected date
reproducible by hand (``tests/engine/test_forecast.py`` does exactly that).

The model, deliberately simple so that a seller can check it:

- The window is stepped forward one day at a time from ``as_of``. On day ``k`` the items whose
  window instant is more than ``days - k`` days old have left (exactly: day buckets are aligned
  on ``as_of``, so the window at ``as_of + k days`` holds precisely the buckets younger than
  ``days - k``).
- New items arrive at a constant pace, counted whole: by day ``k``, ``floor(k * pace)`` have
  arrived. A crossing uses the pace of the last ``RECENT_DAYS`` days (items and bad items); a
  recovery assumes the window's average pace of items and no new bad item (the best case).
- The status of each day is decided by the rule's own conditions on exact fractions, the same
  :meth:`Condition.holds` the evaluation uses, so day 0 reproduces the reported status.
- Confidence is a label with its reasons, never a number pretending to be precise: few items,
  a pace resting on few bad items, few or noisy earlier checks, or a date far ahead lower it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from functools import cached_property

from seller_health.engine.thresholds import Condition, Limits
from seller_health.model.forecast import Forecast, Reason, Step
from seller_health.timeutil import MICROS_PER_DAY, to_micros

RECENT_DAYS = 14  # the "current pace": the last two weeks (the whole window if shorter)
HORIZON_DAYS = 90  # crossings are looked for up to this many days ahead (or the window length)
TINY_SAMPLE = 10  # fewer items in the window: one item moves the rate too much to date anything
FEW_ITEMS = 50  # fewer items: low confidence
ENOUGH_ITEMS = 200  # fewer items: at most medium confidence
FEW_PACE = 3  # a pace resting on fewer new bad items is low confidence
ENOUGH_PACE = 10  # ... on fewer than this, at most medium
FEW_CHECKS = 2  # fewer earlier checks: no trend at all, low confidence
ENOUGH_CHECKS = 4  # fewer: at most medium confidence
FAR_DAYS = 30  # a date further ahead is at most medium confidence
HISTORY_POINTS = 8  # earlier checks a trend is fitted on (the latest ones inside the window)
STEADY = Fraction(1, 10)  # a change below a tenth of the badness is "steady"
NOISY_R2 = Fraction(1, 2)  # a history whose straight line explains less than half is noisy

_RANK = {"ok": 0, "warn": 1, "breach": 2}
_CONFIDENCE = ("low", "medium", "high")


@dataclass(frozen=True)
class Window:
    """The items in a rule's window at ``as_of``, by age in whole days.

    Age ``a`` holds the items whose window instant is in ``[as_of - (a+1) days, as_of - a days)``;
    ages with no item may be left out. ``count_by_age`` is for compound limits ("above 2% and
    above 4 buyers"): per age, the distinct counted values (buyers) whose youngest bad item has
    that age, which is when they stop counting.

    A window without any bad item may leave ``by_age`` empty and give ``recent_counts``
    instead: with no bad item now and none arriving, no schedule of exits can change its status,
    and only the pace is needed. The engine does that to fetch one row for such an account
    rather than one per day.
    """

    as_of: datetime
    days: int
    items: int
    bad: int
    count: int | None = None
    by_age: Mapping[int, tuple[int, int]] = field(default_factory=dict)  # age: (items, bad)
    count_by_age: Mapping[int, int] = field(default_factory=dict)
    recent_counts: tuple[int, int] | None = None  # (items, bad) of the recent days, if not by age

    @property
    def recent_days(self) -> int:
        return min(RECENT_DAYS, self.days)

    @cached_property
    def recent(self) -> tuple[int, int]:
        """Items and bad items of the last ``recent_days`` days: the current pace."""
        if self.recent_counts is not None:
            return self.recent_counts
        items = bad = 0
        for age, (n, b) in self.by_age.items():
            if age < self.recent_days:
                items, bad = items + n, bad + b
        return items, bad


@dataclass(frozen=True)
class Trend:
    """What earlier checks say about the direction, and whether they can be trusted."""

    direction: str | None  # None: too few checks, or too noisy to tell
    checks: int
    noisy: bool = False


# --- the projection -----------------------------------------------------------------------


# A day of the walk: items, bad items, count part, bad items gone, bad items arrived.
_Day = tuple[int, int, int | None, int, int]
# A pace as whole numbers: (items, bad items) per ``per`` days, so floors stay integer.
_Pace = tuple[int, int, int]


class _Schedule:
    """The window stepped forward: cumulative exits by day, plus arrivals at a given pace."""

    def __init__(self, window: Window) -> None:
        self.window = window
        size = window.days
        # out[k] = (items, bad, count) that have left by day k: the ages >= days - k.
        items, bad, count = 0, 0, 0
        self.out = [(0, 0, 0)]
        for k in range(1, size + 1):
            age = size - k
            n, b = window.by_age.get(age, (0, 0))
            items, bad, count = items + n, bad + b, count + window.count_by_age.get(age, 0)
            self.out.append((items, bad, count))

    def day(self, k: int, pace: _Pace) -> _Day:
        w = self.window
        gone_items, gone_bad, gone_count = self.out[min(k, w.days)]
        items, bad, per = pace
        new_items, new_bad = k * items // per, k * bad // per  # whole items: floor
        return (
            w.items - gone_items + new_items,
            w.bad - gone_bad + new_bad,
            None if w.count is None else w.count - gone_count + new_bad,
            gone_bad,
            new_bad,
        )


def _step(limits: Limits, window: Window, k: int, day: _Day, status: str, threshold: str) -> Step:
    items, bad, count, gone, arrived = day
    return Step(
        status=status,
        days=k,
        at=window.as_of + timedelta(days=k),
        value=limits.value(items, bad),
        numerator=limits.numerator(items, bad),
        denominator=items,
        count=count,
        leaving=gone,
        arriving=arrived,
        threshold=threshold,
    )


def _direction(limits: Limits, before: Fraction | float, after: Fraction | float) -> str:
    """Rising or falling, unless the move is under a tenth of the badness: steady."""
    change = after - before
    scale = max(abs(limits.badness(before)), abs(limits.badness(after)))
    if change == 0 or abs(change) <= STEADY * scale:
        return "steady"
    return "rising" if change > 0 else "falling"


def history_trend(
    points: Sequence[tuple[datetime, float]],
    as_of: datetime,
    value: Fraction,
    limits: Limits,
    days: int,
) -> Trend:
    """The least-squares line through earlier checks and today's value.

    Only the latest ``HISTORY_POINTS`` checks of the last ``days`` days count (older ones
    measured a window that has since been replaced) and none at or after ``as_of``. Fewer than
    ``FEW_CHECKS`` tell nothing; a line that explains less than half of the variation
    (R² < 1/2) is noise, not a trend. Stored checks keep their value as a float, and the trend
    only labels a direction and tempers confidence (it never decides a status), so it is fitted
    in floats: exact fractions of binary floats cost far more and add nothing.
    """
    since = as_of - timedelta(days=days)
    earlier = sorted((moment, v) for moment, v in points if since <= moment < as_of)
    earlier = earlier[-HISTORY_POINTS:]
    if len(earlier) < FEW_CHECKS:
        return Trend(None, len(earlier))
    t = to_micros(as_of)
    xs = [(to_micros(moment) - t) / MICROS_PER_DAY for moment, _ in earlier] + [0.0]
    ys = [float(v) for _, v in earlier] + [float(value)]
    if len(set(ys)) == 1:
        return Trend("steady", len(earlier))
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    if sxy * sxy < float(NOISY_R2) * sxx * syy:
        return Trend(None, len(earlier), noisy=True)
    slope = sxy / sxx
    start, end = my + slope * (xs[0] - mx), my + slope * (xs[-1] - mx)
    return Trend(_direction(limits, start, end), len(earlier))


def _confidence(levels: list[tuple[int, Reason]]) -> tuple[str, tuple[Reason, ...]]:
    """The lowest level wins; the reasons are those below high, lowest first."""
    below = sorted((level, i) for i, (level, _) in enumerate(levels) if level < 2)
    level = min((level for level, _ in levels), default=2)
    return _CONFIDENCE[level], tuple(levels[i][1] for _, i in below)


def _items_level(window: Window) -> list[tuple[int, Reason]]:
    if window.items < FEW_ITEMS:
        return [(0, Reason("few_items", window.items))]
    if window.items < ENOUGH_ITEMS:
        return [(1, Reason("few_items", window.items))]
    return []


def _far_level(steps: Sequence[Step]) -> list[tuple[int, Reason]]:
    if steps and steps[-1].days > FAR_DAYS:
        return [(1, Reason("far_ahead", days=FAR_DAYS))]
    return []


def _history_levels(trend: Trend, direction: str | None) -> list[tuple[int, Reason]]:
    levels: list[tuple[int, Reason]] = []
    if trend.noisy:
        levels.append((0, Reason("noisy_history", trend.checks)))
    elif trend.checks < FEW_CHECKS:
        levels.append((0, Reason("few_checks", trend.checks)))
    elif trend.checks < ENOUGH_CHECKS:
        levels.append((1, Reason("few_checks", trend.checks)))
    if {trend.direction, direction} == {"rising", "falling"}:
        levels.append((0, Reason("history_disagrees")))
    return levels


def _pace_direction(
    window: Window, limits: Limits, schedule: _Schedule, now: Fraction
) -> str | None:
    """Today's value against the value at the end of the crossing horizon, at the current pace."""
    recent_items, recent_bad = window.recent
    horizon = min(window.days, HORIZON_DAYS)
    items, bad, *_ = schedule.day(horizon, (recent_items, recent_bad, window.recent_days))
    if items < max(limits.min_sample, 1):
        return None
    return _direction(limits, now, limits.value(items, bad))


def _condition(limits: Limits, status: str) -> Condition | None:
    return limits.breach if status == "breach" else limits.warn if status == "warn" else None


def _can_move(window: Window, limits: Limits, recent_bad: int) -> bool:
    """With no bad item now and none arriving, a rate or count never changes status."""
    return bool(window.bad or recent_bad) or (limits.good and limits.counts)


def _walk(
    window: Window,
    limits: Limits,
    schedule: _Schedule,
    horizon: int,
    pace: _Pace,
    targets: dict[str, str],
    reached: str,
) -> tuple[Step, ...]:
    """The first day each target status is reached (``reached`` says how: "worse" means at or
    beyond it, "better" at or below it); one step per day, the furthest status kept."""
    found: dict[str, Step] = {}
    sign = 1 if reached == "worse" else -1
    tested = None
    for k in range(1, horizon + 1):
        day = schedule.day(k, pace)
        if day[:3] == tested:
            continue  # the same counts as the day before: the same status
        tested = day[:3]
        status = limits.status(day[0], day[1], day[2])
        if status == "insufficient_data":
            continue
        for target, threshold in targets.items():
            if target not in found and sign * (_RANK[status] - _RANK[target]) >= 0:
                found[target] = _step(limits, window, k, day, target, threshold)
        if len(found) == len(targets):
            break
    by_day: dict[int, Step] = {}
    for step in found.values():
        kept = by_day.get(step.days)
        if kept is None or sign * (_RANK[step.status] - _RANK[kept.status]) > 0:
            by_day[step.days] = step
    return tuple(by_day[k] for k in sorted(by_day))


def _withheld(window: Window) -> list[Reason]:
    """Why no date can be given: too few items to date anything, or no pace to extend."""
    reasons = []
    if window.items < TINY_SAMPLE:
        reasons.append(Reason("few_items", window.items))
    if window.recent[0] == 0:
        reasons.append(Reason("no_recent_items", days=window.recent_days))
    return reasons


def crossing(
    window: Window,
    limits: Limits,
    history: Sequence[tuple[datetime, float]] = (),
    *,
    items: str = "items",
) -> Forecast | None:
    """When an ok or warning rule reaches a worse status if the last weeks' pace goes on.

    New items and new bad items keep arriving at the pace of the last ``recent_days`` days while
    today's items leave the window; the first day each worse status holds is a step. No date is
    given for fewer than ``TINY_SAMPLE`` items or with no new item in the recent days. ``None``
    for a rule that is not ok or warn.
    """
    now = limits.status(window.items, window.bad, window.count)
    if now not in ("ok", "warn"):
        return None
    targets = {
        status: condition.text
        for status in ("warn", "breach")
        if _RANK[status] > _RANK[now] and (condition := _condition(limits, status)) is not None
    }
    value = limits.value(window.items, window.bad)
    trend = history_trend(history, window.as_of, value, limits, window.days)
    r = window.recent_days
    recent_items, recent_bad = window.recent
    horizon = min(window.days, HORIZON_DAYS)
    withheld = _withheld(window)
    steps: tuple[Step, ...] = ()
    if withheld:
        direction = trend.direction
        confidence, reasons = "low", tuple(withheld)
    else:
        if _can_move(window, limits, recent_bad):
            schedule = _Schedule(window)
            direction = _pace_direction(window, limits, schedule, value) or trend.direction
            if targets:
                pace = (recent_items, recent_bad, r)
                steps = _walk(window, limits, schedule, horizon, pace, targets, "worse")
        else:
            direction = "steady"  # no bad item now or arriving: the value cannot move
        levels = _items_level(window) + _history_levels(trend, direction) + _far_level(steps)
        if steps and recent_bad < ENOUGH_PACE:
            levels.append(
                (0 if recent_bad < FEW_PACE else 1, Reason("few_recent_bad", recent_bad, r))
            )
        confidence, reasons = _confidence(levels)
    basis = (
        f"the pace of the last {r} days goes on ({recent_items} {items}, {recent_bad} bad), "
        f"counted in whole {items}, while today's {items} leave the window; "
        f"checked day by day for {horizon} days"
    )
    return _forecast(
        "crossing",
        now,
        window,
        limits,
        items,
        direction,
        steps,
        confidence,
        reasons,
        basis,
        horizon,
        trend,
        withheld=bool(withheld),
    )


def recovery(
    window: Window,
    limits: Limits,
    history: Sequence[tuple[datetime, float]] = (),
    *,
    items: str = "items",
) -> Forecast | None:
    """When a warning or breaching rule gets better as its bad items leave the window.

    The best case: no new bad item, and new items at the window's average pace. The exit
    schedule itself is known, so the date is as good as that assumption: bad items in the recent
    days (the assumption already failing) and few items lower the confidence, and as for a
    crossing no date is given for fewer than ``TINY_SAMPLE`` items or with no new item in the
    recent days (no pace to assume). Earlier checks are reported as the trend but do not change
    this date. ``None`` for a rule that is not warn or breach.
    """
    now = limits.status(window.items, window.bad, window.count)
    if now not in ("warn", "breach"):
        return None
    reference = limits.warn or limits.breach
    assert reference is not None  # a warning or breaching rule has a condition
    targets: dict[str, str] = {}
    if now == "breach" and limits.warn is not None and limits.breach is not None:
        targets["warn"] = limits.breach.text
    targets["ok"] = reference.text
    value = limits.value(window.items, window.bad)
    trend = history_trend(history, window.as_of, value, limits, window.days)
    r = window.recent_days
    recent_bad = window.recent[1]
    withheld = _withheld(window)
    steps: tuple[Step, ...] = ()
    if withheld:
        direction = trend.direction
        confidence, reasons = "low", tuple(withheld)
    else:
        schedule = _Schedule(window)
        direction = _pace_direction(window, limits, schedule, value) or trend.direction
        pace = (window.items, 0, window.days)
        steps = _walk(window, limits, schedule, window.days, pace, targets, "better")
        levels = _items_level(window) + _far_level(steps)
        if recent_bad:
            levels.append((0, Reason("recent_bad", recent_bad, r)))
        confidence, reasons = _confidence(levels)
    basis = (
        f"no new bad {items} (the best case) and new {items} at the window's average pace "
        f"({window.items} in {window.days} days), while today's {items} leave the window; "
        f"checked day by day for {window.days} days"
    )
    return _forecast(
        "recovery",
        now,
        window,
        limits,
        items,
        direction,
        steps,
        confidence,
        reasons,
        basis,
        window.days,
        trend,
        withheld=bool(withheld),
    )


def forecast(
    window: Window,
    limits: Limits,
    history: Sequence[tuple[datetime, float]] = (),
    *,
    items: str = "items",
) -> Forecast | None:
    """The forecast worth showing: a crossing for an ok rule, a recovery for a breaching one.

    A warning rule gets the crossing if the current pace takes it to breach within the horizon
    (the risk comes first), otherwise its recovery to ok. ``None`` without a condition or with
    too few items for a status.
    """
    if limits.breach is None and limits.warn is None:
        return None
    now = limits.status(window.items, window.bad, window.count)
    if now == "ok":
        return crossing(window, limits, history, items=items)
    if now == "breach":
        return recovery(window, limits, history, items=items)
    if now == "warn":
        ahead = crossing(window, limits, history, items=items)
        if ahead is not None and ahead.steps:
            return ahead
        return recovery(window, limits, history, items=items)
    return None


def _forecast(
    kind: str,
    now: str,
    window: Window,
    limits: Limits,
    items: str,
    direction: str | None,
    steps: tuple[Step, ...],
    confidence: str,
    reasons: tuple[Reason, ...],
    basis: str,
    horizon: int,
    trend: Trend,
    *,
    withheld: bool = False,
) -> Forecast:
    return Forecast(
        kind=kind,
        status_now=now,
        unit=limits.unit,
        items=items,
        numerator=limits.numerator(window.items, window.bad),
        denominator=window.items,
        count=window.count,
        direction=direction,
        steps=steps,
        confidence=confidence,
        reasons=reasons,
        basis=basis,
        horizon_days=horizon,
        recent_days=window.recent_days,
        recent_items=window.recent[0],
        recent_bad=window.recent[1],
        trend=trend.direction,
        checks=trend.checks,
        withheld=withheld,
    )
