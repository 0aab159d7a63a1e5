"""The terminal view's layout: it fits the width it is given, accounts come worst first with one
summary line each, only the failing rules are listed unless asked, and counts are plural-correct
in every language."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from seller_health.engine.wording import Localizer, steps_in_words
from seller_health.model.results import AccountCheck, CheckResult, RuleResult
from seller_health.reports.text import render_text

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def rule(rule_id: str, status: str, bad: int = 1, total: int = 100, **extra) -> RuleResult:
    value = None if status == "insufficient_data" else Fraction(bad, total)
    return RuleResult(
        rule=rule_id,
        title=rule_id,
        pack=rule_id.split(".")[0],
        status=status,
        unit="ratio",
        value=value,
        numerator=bad,
        denominator=total,
        window_start=AS_OF,
        window_end=AS_OF,
        thresholds={"breach": ">= 0.04", "warn": ">= 0.03"},
        headroom=None,
        evidence=[f"order-{i:04}" for i in range(bad)],
        evidence_total=bad,
        message=f"{bad} of {total} orders shipped late",
        **extra,
    )


def account(account_id: str, status: str, results: list[RuleResult]) -> AccountCheck:
    return AccountCheck(account_id, "amazon", f"{account_id} GmbH", status, results)


@pytest.fixture
def checked() -> CheckResult:
    """One account of each status, in no particular order, two of them tied on status."""
    return CheckResult(
        as_of=AS_OF,
        accounts=[
            account("zz-ok", "ok", [rule("amazon.late_shipment_rate", "ok", 1)]),
            account(
                "b-warn",
                "warn",
                [
                    rule("amazon.late_shipment_rate", "warn", 3, steps={"breach": 1}),
                    rule("amazon.cancellation_rate", "ok", 0),
                ],
            ),
            account("a-nodata", "insufficient_data", [rule("amazon.odr", "insufficient_data")]),
            account(
                "c-breach",
                "breach",
                [
                    rule("amazon.cancellation_rate", "ok", 0),
                    rule("amazon.late_shipment_rate", "warn", 3),
                    rule(
                        "amazon.order_defect_rate_with_a_rather_long_identifier",
                        "breach",
                        5,
                        recovery={"warn": 2, "ok": 3},
                    ),
                    rule("amazon.odr", "breach", 6),
                    rule("amazon.fba", "insufficient_data"),
                ],
            ),
            account("a-breach", "breach", [rule("amazon.odr", "breach", 4)]),
        ],
    )


def summaries(text: str) -> list[str]:
    return [line for line in text.splitlines()[1:] if line and not line.startswith(" ")]


def test_accounts_come_worst_first_then_by_id(checked):
    order = [line.split()[1] for line in summaries(render_text(checked))]
    no_data = [line for line in summaries(render_text(checked)) if "a-nodata" in line]
    assert order == ["a-breach", "c-breach", "b-warn", "data", "zz-ok"]  # "no data a-nodata"
    assert no_data[0].startswith("no data  a-nodata")


def test_the_summary_line_counts_each_status_and_names_the_first_failing_rule(checked):
    line = next(s for s in summaries(render_text(checked, width=200)) if "c-breach" in s)
    assert line == (
        "BREACH   c-breach (c-breach GmbH)  amazon  5 rules: 2 breaches, 1 at risk, "
        "1 not judged, 1 ok  first: amazon.order_defect_rate_with_a_rather_long_identifier"
    )
    ok = next(s for s in summaries(render_text(checked, width=200)) if "zz-ok" in s)
    assert ok.endswith("amazon  1 rule: 1 ok")


def test_only_rules_needing_attention_are_listed_breach_first(checked):
    text = render_text(checked, width=200)
    block = text.split("c-breach (c-breach GmbH)")[1].split("\n\n")[0]
    listed = [line.split()[0] for line in block.splitlines()[1:] if line.startswith("  ")]
    assert listed == [
        "amazon.order_defect_rate_with_a_rather_long_identifier",
        "amazon.odr",
        "amazon.late_shipment_rate",
    ]
    assert "2 fewer → warn; 3 fewer → ok" in block
    assert "amazon.cancellation_rate" not in block and "amazon.fba" not in block


def test_details_lists_every_rule(checked):
    text = render_text(checked, width=200, details=True)
    block = text.split("c-breach (c-breach GmbH)")[1].split("\n\n")[0]
    listed = [line.split()[0] for line in block.splitlines()[1:] if line.startswith("  ")]
    assert listed == [r.rule for r in checked.accounts[3].results]


@pytest.mark.parametrize("width", [60, 80, 200])
@pytest.mark.parametrize("mode", [{}, {"details": True}, {"rule": "amazon.odr"}])
def test_no_line_is_wider_than_the_terminal(checked, width, mode):
    text = render_text(checked, width=width, **mode)
    assert max(len(line) for line in text.splitlines()) <= width
    assert all(line == line.rstrip() for line in text.splitlines())


def test_a_wide_terminal_keeps_each_rule_on_one_row_and_a_narrow_one_moves_columns_below(checked):
    wide = render_text(checked, width=200)
    row = next(line for line in wide.splitlines() if line.startswith("  amazon.order_defect"))
    assert "breach ≥ 4.00%" in row and "3 fewer → ok" in row and "5 of 100 orders" in row
    narrow = render_text(checked, width=60).splitlines()
    at = next(i for i, line in enumerate(narrow) if line.startswith("  amazon.order_defect"))
    assert narrow[at] == "  amazon.order_defect_rate_with_a_rather_long_identifier"
    assert narrow[at + 1] == "    BREACH · 5.00% · breach ≥ 4.00%, warn ≥ 3.00%"
    assert narrow[at + 2] == "    2 fewer → warn; 3 fewer → ok"
    assert narrow[at + 3] == "    5 of 100 orders shipped late"


def test_a_narrow_terminal_shortens_the_summary_line_rather_than_wrapping_it(checked):
    lines = summaries(render_text(checked, width=60))
    assert len(lines) == 5  # one line per account
    c_breach = next(line for line in lines if "c-breach" in line)
    assert c_breach.startswith("BREACH   c-breach  2 breaches, 1 at risk, 1 not judged, 1 ok")
    assert "GmbH" not in c_breach


def test_rule_shows_that_rule_alone_with_its_evidence_ids(checked):
    text = render_text(checked, width=80, rule="amazon.odr")
    assert [line.split()[1] for line in summaries(text)] == ["a-breach", "c-breach", "data"]
    assert "4 items as evidence: order-0000, order-0001, order-0002, order-0003" in text
    assert "6 items as evidence: order-0000" in text
    assert "amazon.late_shipment_rate" not in text
    with pytest.raises(LookupError, match="amazon.nope"):
        render_text(checked, rule="amazon.nope")


def test_evidence_capped_by_the_limit_says_how_many_there_are(checked):
    capped = checked.accounts[4].results[0]
    capped.evidence_total = 250
    text = render_text(checked, rule="amazon.odr")
    assert "250 items as evidence, 4 listed: order-0000" in text


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("en", "1 rule: 1 ok", "2 rules: 1 at risk, 1 ok"),
        ("es", "1 regla: 1 correcta", "2 reglas: 1 en riesgo, 1 correcta"),
        ("it", "1 regola: 1 ok", "2 regole: 1 a rischio, 1 ok"),
        ("pt", "1 regra: 1 ok", "2 regras: 1 em risco, 1 ok"),
    ],
)
def test_counts_are_plural_correct(checked, language, one, two):
    text = render_text(checked, language=language, width=200)
    assert one in text and two in text


def test_spanish_plurals_of_breaches_and_steps(checked):
    text = render_text(checked, language="es", width=200)
    assert "2 incumplimientos, 1 en riesgo, 1 sin evaluar, 1 correcta" in text
    assert "1 incumplimiento" in text
    assert "2 menos → en riesgo; 3 menos → ok" in text


def test_steps_say_only_the_farthest_status_a_count_reaches():
    t = Localizer(compact=True)
    r = rule("amazon.x", "ok", steps={"warn": 3, "breach": 3})
    assert steps_in_words(r, t) == "3 more → breach"
    r = rule("amazon.x", "warn", steps={"breach": 2}, recovery={"ok": 1})
    assert steps_in_words(r, t) == "2 more → breach; 1 fewer → ok"
    r = rule("amazon.x", "breach", recovery={"warn": 1, "ok": None})
    assert steps_in_words(r, t) == "1 fewer → warn"
    assert steps_in_words(rule("amazon.x", "insufficient_data"), t) == ""


def test_colour_only_when_asked(checked):
    assert "\x1b[" not in render_text(checked)
    assert "\x1b[" in render_text(checked, color=True)
