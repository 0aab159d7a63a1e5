"""Metric kinds: what each computes, in which unit, and how its results are judged and worded,
said once per kind in a :class:`MetricKind`.

The rule parser, the evaluation, the message and the forecast ask the registry rather than name
the kinds, so a new kind is one :func:`register` call (its aggregation included), and a rule file
uses it as ``metric: <name>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Index, Table, case, distinct, func, literal, or_, select

from seller_health.engine.fields import RECORD_SETS
from seller_health.engine.forecast_sql import ForecastInputs, read_inputs
from seller_health.engine.items import materialize
from seller_health.engine.recordsets import Rows
from seller_health.engine.sql import Compiler, compare
from seller_health.engine.thresholds import Condition, rate_headroom
from seller_health.model.results import N_

if TYPE_CHECKING:
    from seller_health.engine.context import Evaluation
    from seller_health.engine.pack import Rule

EMPTY_ID_MARK = "\x1f"  # prefixes an order id standing in for an empty buyer id


@dataclass
class Aggregate:
    """What SQL returns for one account and rule."""

    denominator: int = 0
    numerator: int | None = None
    value: Fraction | None = None
    count: int | None = None
    oldest_bad: int | None = None
    evidence_total: int = 0
    evidence: list[str] = field(default_factory=list)
    p90: Fraction | None = None
    rolloff_counts: tuple[int, int, int | None] = (0, 0, None)
    forecast_inputs: ForecastInputs | None = None


# Per account, the aggregate of a rule's items in one window (accounts without items left out).
Aggregator = Callable[["Evaluation", "Rule", Rows, Compiler, Sequence[str]], dict[str, Aggregate]]


@dataclass(frozen=True)
class MetricKind:
    """One kind of metric, as rule files name it (``metric: rate``)."""

    name: str
    aggregate: Aggregator
    # Rule fields it reads, each required; "good|bad" is exactly one of the two.
    needs: tuple[str, ...] = ()
    # Optional rule fields only the kinds naming them accept ("count", "percentile").
    options: tuple[str, ...] = ()
    # How its values and thresholds are worded: ratio, count, seconds, score or number.
    unit: str | Callable[[Rule], str] = "number"
    # The message of a rule that has none of its own.
    template: str | Callable[[Rule], str] = N_(
        "{value} over {denominator} {items} in the last {days} days"
    )
    numerator: bool = False  # its results report the items counted, beside the value
    # Failures still absorbed before the reference status (breach, else warn), or -k fewer.
    headroom: Callable[[Rule, Condition, Aggregate], int | None] | None = None
    rolloff: bool = False  # a failing result says when its oldest bad item leaves the window
    # Its results count bad items, so they say how many more reach each worse status and how
    # many fewer each better one (metrics.md "Steps and recovery").
    steps: bool = False
    # A result with a threshold is projected from its bad items by age (``forecast_inputs``, left
    # by the aggregation): a share of the items, or their count when the unit is "count".
    forecast: bool = False

    def unit_of(self, rule: Rule) -> str:
        return self.unit(rule) if callable(self.unit) else self.unit

    def template_of(self, rule: Rule) -> str:
        return self.template(rule) if callable(self.template) else self.template

    def forecasts(self, rule: Rule) -> bool:
        return self.forecast and rule.reference is not None


KINDS: dict[str, MetricKind] = {}


def register(kind: MetricKind) -> MetricKind:
    """Adds a kind; a name is registered once, so a plugin cannot silently replace one."""
    if kind.name in KINDS:
        raise ValueError(f"metric kind {kind.name!r} is already registered")
    KINDS[kind.name] = kind
    return kind


def metric_kind(name: str) -> MetricKind:
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"no metric kind {name!r} (known: {', '.join(KINDS)})") from None


def status_of(rule: Rule, value: Fraction, count: int | None) -> str:
    """Breach is tested first: a value past both limits is a breach."""
    if rule.breach is not None and rule.breach.holds(value, count):
        return "breach"
    if rule.warn is not None and rule.warn.holds(value, count):
        return "warn"
    return "ok"


# --- the built-in kinds' aggregations -------------------------------------------------------


def _filters(rule: Rule, rows: Rows, compiler: Compiler) -> list[ColumnElement[bool]]:
    conditions = list(rows.conditions)
    if rule.where is not None:
        conditions.append(compiler.predicate(rule.where))
    return conditions


def _as_int(value: object) -> int:
    return int(value or 0)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _evidence(
    ev: Evaluation, items: Table, bad: ColumnElement[bool], aggregates: dict[str, Aggregate]
) -> None:
    """The first ``evidence_limit`` bad item ids per account, oldest first (ties by id)."""
    if ev.evidence_limit <= 0 or not any(agg.evidence_total for agg in aggregates.values()):
        return
    c = items.c
    rank = func.row_number().over(partition_by=c.account_id, order_by=(c.sel, c.item_id))
    ranked = select(c.account_id, c.item_id, rank.label("rank")).where(bad).subquery("ranked")
    query = (
        select(ranked.c.account_id, ranked.c.item_id)
        .where(ranked.c.rank <= ev.evidence_limit)
        .order_by(ranked.c.account_id, ranked.c.rank)
    )
    for account_id, item_id in ev.conn.execute(query):
        aggregates[account_id].evidence.append(item_id)


def _count_key(rule: Rule, rows: Rows) -> ColumnElement[str] | None:
    """What the count part of a compound limit counts: bad items, or distinct values of a field
    (an empty value stands for itself alone, as eBay's empty buyer does)."""
    if rule.count is None:
        return None
    if rule.count == "items":
        return rows.item_id
    return func.coalesce(rows.field(rule.count), literal(EMPTY_ID_MARK) + rows.item_id)


def _rate(
    ev: Evaluation, rule: Rule, rows: Rows, compiler: Compiler, accounts: Sequence[str]
) -> dict[str, Aggregate]:
    """The share of items counted (good or bad); a compound limit also counts distinct keys."""
    return _tally(ev, rule, rows, compiler, share=True)


def _count(
    ev: Evaluation, rule: Rule, rows: Rows, compiler: Compiler, accounts: Sequence[str]
) -> dict[str, Aggregate]:
    """The number of bad items."""
    return _tally(ev, rule, rows, compiler, share=False)


def _tally(
    ev: Evaluation, rule: Rule, rows: Rows, compiler: Compiler, *, share: bool
) -> dict[str, Aggregate]:
    kind = metric_kind(rule.metric)
    counted = compiler.predicate(rule.good if rule.good is not None else rule.bad)  # type: ignore[arg-type]
    columns = {"sel": rows.field(rule.window_by), "counted": _flag(counted)}
    key = _count_key(rule, rows)
    if key is not None:
        columns["key"] = key
    with materialize(ev.conn, rows, _filters(rule, rows, compiler), columns) as items:
        c = items.c
        bad = c.counted == (0 if rule.good is not None else 1)
        distinct_bad = (
            func.count(distinct(case((bad, c.key), else_=None))) if key is not None else None
        )
        query = select(
            c.account_id,
            func.count(),
            func.sum(c.counted),
            func.min(case((bad, c.sel), else_=None)),
            func.sum(_flag(bad)),
            *([distinct_bad] if distinct_bad is not None else []),
        ).group_by(c.account_id)
        aggregates: dict[str, Aggregate] = {}
        for row in ev.conn.execute(query):
            agg = Aggregate(
                denominator=_as_int(row[1]),
                numerator=_as_int(row[2]),
                oldest_bad=None if row[3] is None else int(row[3]),
                evidence_total=_as_int(row[4]),
                count=_as_int(row[5]) if key is not None else None,
            )
            agg.value = (
                Fraction(agg.numerator or 0, agg.denominator)
                if share
                else Fraction(agg.numerator or 0)
            )
            aggregates[row[0]] = agg
        _evidence(ev, items, bad, aggregates)
        if kind.rolloff:
            failing = [a for a, agg in aggregates.items() if _rolls_off(ev.rule_for(rule, a), agg)]
            _rolloffs(ev, items, bad, distinct_bad, aggregates, failing)
        if kind.forecasts(rule):
            read_inputs(ev, rule, items, bad, aggregates)
    return aggregates


def _rolls_off(rule: Rule, agg: Aggregate) -> bool:
    """Roll-off is reported for warning and breaching results only."""
    if agg.oldest_bad is None or agg.value is None or agg.denominator < max(rule.min_sample, 1):
        return False
    return status_of(rule, agg.value, agg.count) in ("warn", "breach")


def _rolloffs(
    ev: Evaluation,
    items: Table,
    bad: ColumnElement[bool],
    distinct_bad: ColumnElement[int] | None,
    aggregates: dict[str, Aggregate],
    accounts: list[str],
) -> None:
    """Per account, the counts once the oldest bad item has left: items selected after it."""
    if not accounts:
        return
    c = items.c
    Index(f"{items.name}_sel", c.account_id, c.sel).create(ev.conn)
    oldest = (
        select(c.account_id, func.min(c.sel).label("oldest"))
        .where(bad, c.account_id.in_(accounts))
        .group_by(c.account_id)
        .subquery("oldest")
    )
    query = (
        select(
            c.account_id,
            func.count(),
            func.sum(c.counted),
            *([distinct_bad] if distinct_bad is not None else []),
        )
        .select_from(items.join(oldest, oldest.c.account_id == c.account_id))
        .where(c.sel > oldest.c.oldest)
        .group_by(c.account_id)
    )
    for row in ev.conn.execute(query):
        aggregates[row[0]].rolloff_counts = (
            _as_int(row[1]),
            _as_int(row[2]),
            _as_int(row[3]) if distinct_bad is not None else None,
        )


def _value_columns(
    rule: Rule, rows: Rows, compiler: Compiler
) -> tuple[dict[str, ColumnElement], int]:
    """Columns of a mean or median's items: the value, and whether the item alone fails."""
    assert rule.value is not None
    value = compiler.value(rule.value)
    scale = compiler.value_scale(rule.value, RECORD_SETS[rule.of].get(rule.value.field or ""))
    columns = {"sel": rows.field(rule.window_by), "value": value}
    reference = rule.reference
    if reference is not None:
        columns["fails"] = _flag(compare(value, reference.value.op, reference.value.bound * scale))
    return columns, scale


def _mean(
    ev: Evaluation, rule: Rule, rows: Rows, compiler: Compiler, accounts: Sequence[str]
) -> dict[str, Aggregate]:
    columns, scale = _value_columns(rule, rows, compiler)
    filters = [*_filters(rule, rows, compiler), columns["value"].is_not(None)]
    with materialize(ev.conn, rows, filters, columns) as items:
        c = items.c
        fails = [func.sum(c.fails)] if "fails" in columns else []
        query = select(c.account_id, func.count(), func.sum(c.value), *fails).group_by(c.account_id)
        aggregates = {
            row[0]: Aggregate(
                denominator=int(row[1]),
                value=Fraction(int(row[2]), int(row[1]) * scale),
                evidence_total=_as_int(row[3]) if fails else 0,
            )
            for row in ev.conn.execute(query)
        }
        if fails:
            _evidence(ev, items, c.fails == 1, aggregates)
    return aggregates


def _median(
    ev: Evaluation, rule: Rule, rows: Rows, compiler: Compiler, accounts: Sequence[str]
) -> dict[str, Aggregate]:
    """Median (mean of the two middle values for an even count) and the ⌈p·n/100⌉-th value."""
    columns, scale = _value_columns(rule, rows, compiler)
    filters = [*_filters(rule, rows, compiler), columns["value"].is_not(None)]
    pct = rule.percentile or 50
    with materialize(ev.conn, rows, filters, columns) as items:
        c = items.c
        ranked = select(
            c.account_id,
            c.value,
            func.row_number().over(partition_by=c.account_id, order_by=c.value).label("rank"),
            func.count().over(partition_by=c.account_id).label("n"),
        ).subquery("ranked")
        n, rank = ranked.c.n, ranked.c.rank
        wanted = [(n + 1) // 2, (n + 2) // 2, (n * pct + 99) // 100]
        query = select(ranked.c.account_id, ranked.c.value, rank, n).where(
            or_(*(rank == w for w in wanted))
        )
        picked: dict[str, dict[int, int]] = defaultdict(dict)
        sizes: dict[str, int] = {}
        for account_id, value, position, size in ev.conn.execute(query):
            picked[account_id][int(position)] = int(value)
            sizes[account_id] = int(size)
        failing: dict[str, int] = {}
        if "fails" in columns:
            failing = dict(
                ev.conn.execute(
                    select(c.account_id, func.sum(c.fails)).group_by(c.account_id)
                ).all()
            )
        aggregates: dict[str, Aggregate] = {}
        for account_id, size in sizes.items():
            values = picked[account_id]
            aggregates[account_id] = Aggregate(
                denominator=size,
                value=Fraction(values[(size + 1) // 2] + values[(size + 2) // 2], 2 * scale),
                p90=Fraction(values[(size * pct + 99) // 100], scale) if rule.percentile else None,
                evidence_total=_as_int(failing.get(account_id)),
            )
        if "fails" in columns:
            _evidence(ev, items, c.fails == 1, aggregates)
    return aggregates


def _net_score(
    ev: Evaluation, rule: Rule, rows: Rows, compiler: Compiler, accounts: Sequence[str]
) -> dict[str, Aggregate]:
    assert rule.plus is not None and rule.minus is not None
    columns = {
        "sel": rows.field(rule.window_by),
        "plus": _flag(compiler.predicate(rule.plus)),
        "minus": _flag(compiler.predicate(rule.minus)),
    }
    with materialize(ev.conn, rows, _filters(rule, rows, compiler), columns) as items:
        c = items.c
        query = select(c.account_id, func.count(), func.sum(c.plus), func.sum(c.minus)).group_by(
            c.account_id
        )
        aggregates: dict[str, Aggregate] = {}
        for account_id, n, promoters, detractors in ev.conn.execute(query):
            n, promoters, detractors = int(n), _as_int(promoters), _as_int(detractors)
            aggregates[account_id] = Aggregate(
                denominator=n,
                value=Fraction(100 * (promoters - detractors), n),
                evidence_total=detractors,
            )
        _evidence(ev, items, c.minus == 1, aggregates)
    return aggregates


def _group_mean(
    ev: Evaluation, rule: Rule, rows: Rows, compiler: Compiler, accounts: Sequence[str]
) -> dict[str, Aggregate]:
    """Mean over groups (agents) of the distinct values (threads) each group touched."""
    assert rule.group_by and rule.count_distinct
    group = rows.field(rule.group_by)
    filters = [*_filters(rule, rows, compiler), group.is_not(None), group != ""]
    query = (
        select(rows.account_id, group, func.count(distinct(rows.field(rule.count_distinct))))
        .select_from(rows.source)
        .where(*filters)
        .group_by(rows.account_id, group)
    )
    per_account: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for account_id, name, n in ev.conn.execute(query):
        per_account[account_id].append((name, int(n)))
    aggregates: dict[str, Aggregate] = {}
    for account_id, groups in per_account.items():
        busiest = sorted(groups, key=lambda g: (-g[1], g[0]))
        aggregates[account_id] = Aggregate(
            denominator=len(groups),
            value=Fraction(sum(n for _, n in groups), len(groups)),
            evidence=[name for name, _ in busiest[: ev.evidence_limit]],
            evidence_total=len(groups),
        )
    return aggregates


def _ratio_template(rule: Rule) -> str:
    if rule.numerator_is_good:
        return N_("{numerator} of {denominator} {items} good in the last {days} days ({value})")
    return N_("{numerator} of {denominator} {items} bad in the last {days} days ({value})")


def _value_unit(rule: Rule) -> str:
    return "seconds" if rule.value is not None and rule.value.is_duration else "number"


def _rate_headroom(rule: Rule, reference: Condition, agg: Aggregate) -> int | None:
    numerator = agg.numerator or 0
    return rate_headroom(
        reference, numerator, agg.denominator, agg.count, good=rule.numerator_is_good
    )


def _count_headroom(rule: Rule, reference: Condition, agg: Aggregate) -> int:
    return int(reference.value.bound - (agg.value or 0))


register(
    MetricKind(
        "rate",
        _rate,
        needs=("good|bad",),
        options=("count",),
        unit="ratio",
        template=_ratio_template,
        numerator=True,
        headroom=_rate_headroom,
        rolloff=True,
        steps=True,
        forecast=True,
    )
)
register(
    MetricKind(
        "count",
        _count,
        needs=("bad",),
        unit="count",
        template=N_("{value} of {denominator} {items} in the last {days} days"),
        numerator=True,
        headroom=_count_headroom,
        steps=True,
        forecast=True,
    )
)
register(MetricKind("mean", _mean, needs=("value",), unit=_value_unit))
register(MetricKind("median", _median, needs=("value",), options=("percentile",), unit=_value_unit))
register(MetricKind("net_score", _net_score, needs=("plus", "minus"), unit="score"))
register(MetricKind("group_mean", _group_mean, needs=("group_by", "count_distinct")))
