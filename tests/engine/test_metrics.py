"""The metric registry: a kind registered in one place is parsed from a rule file, aggregated,
judged and worded, with no other code knowing its name."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from seller_health.engine.context import Evaluation
from seller_health.engine.evaluate import evaluate
from seller_health.engine.fields import RECORD_SETS
from seller_health.engine.metrics import KINDS, Aggregate, MetricKind, metric_kind, register
from seller_health.engine.pack import Rule
from seller_health.engine.recordsets import Rows
from seller_health.engine.rules import RuleFileError, parse_pack
from seller_health.engine.sql import Compiler
from seller_health.model.results import N_
from seller_health.reports.json import render_json
from tests.factory import Seller, T, ago

TOY = {
    "pack": "toy",
    "rules": [
        {
            "id": "toy.sales",
            "title": "Sales",
            "of": "orders",
            "metric": "total",
            "window": {"days": 30, "by": "purchased_at"},
            "where": {"fulfillment": "merchant"},
            "value": "total",
            "breach": "> 100",
            "warn": "> 80",
            "items": "orders",
        }
    ],
}


def _total(
    ev: Evaluation, rule: Rule, rows: Rows, compiler: Compiler, accounts: Sequence[str]
) -> dict[str, Aggregate]:
    """The sum of a numeric field over the rule's items."""
    assert rule.value is not None
    value = compiler.value(rule.value)
    scale = compiler.value_scale(rule.value, RECORD_SETS[rule.of].get(rule.value.field or ""))
    conditions = [*rows.conditions, compiler.predicate(rule.where), value.is_not(None)]
    query = (
        select(rows.account_id, func.count(), func.sum(value))
        .select_from(rows.source)
        .where(*conditions)
        .group_by(rows.account_id)
    )
    return {
        account_id: Aggregate(denominator=int(n), value=Fraction(int(total), scale))
        for account_id, n, total in ev.conn.execute(query)
    }


@pytest.fixture
def total_kind() -> Iterator[MetricKind]:
    kind = register(
        MetricKind(
            "total",
            _total,
            needs=("value",),
            template=N_("{value} in total over {denominator} {items} in the last {days} days"),
        )
    )
    yield kind
    del KINDS[kind.name]


def test_an_unregistered_kind_is_refused_as_before():
    with pytest.raises(RuleFileError, match="field metric: Input should be 'rate', 'count'"):
        parse_pack(TOY, "toy.yaml")


def test_a_registered_kind_is_evaluated_end_to_end(engine, total_kind):
    seller = Seller("shop", marketplace="other")
    seller.order("o1", ago(days=2), total="40")
    seller.order("o2", ago(days=10), total="50.25")
    seller.order("o3", ago(days=20), total="25.25")
    seller.order("afn", ago(days=5), total="999", fulfillment="amazon")  # not merchant
    seller.order("old", ago(days=40), total="999")  # before the window
    seller.order("free", ago(days=3))  # no total: not an item
    seller.save(engine)

    checked = evaluate(engine, [parse_pack(TOY, "toy.yaml")], T)
    (result,) = checked.accounts[0].results
    assert (result.status, result.value, result.denominator) == ("breach", Fraction(231, 2), 3)
    assert (result.unit, result.numerator, result.headroom, result.forecast) == (
        "number",
        None,
        None,
        None,
    )
    assert result.thresholds == {"breach": "> 100", "warn": "> 80"}
    assert result.message == "115.50 in total over 3 orders in the last 30 days"
    assert '"message_template": "{value} in total over {denominator}' in render_json(checked)


def test_a_kind_is_registered_once(total_kind):
    assert metric_kind("total") is total_kind
    with pytest.raises(ValueError, match="already registered"):
        register(total_kind)
    with pytest.raises(LookupError, match="no metric kind 'totals'"):
        metric_kind("totals")


def test_options_and_needs_come_from_the_kind(total_kind):
    """A field the kind does not read, or an option another kind owns, is refused by name."""
    rule = TOY["rules"][0]
    for change, field, words in (
        ({"bad": {"happened": "cancelled_at"}}, "bad", "not used by a total rule"),
        ({"percentile": 90}, "percentile", "beside a median only"),
        ({"count": "items"}, "count", "applies to rate rules only"),
        ({"value": None}, "value", "a total rule needs exactly one of: value"),
    ):
        with pytest.raises(RuleFileError) as caught:
            parse_pack({**TOY, "rules": [{**rule, **change}]}, "toy.yaml")
        assert (caught.value.field, words in caught.value.message) == (field, True)
