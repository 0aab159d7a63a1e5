"""Rule files: every built-in rule id of metrics.md is present, and broken files are refused
with the file, rule id and field at fault."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from seller_health.engine.rules import (
    RuleFileError,
    apply_overrides,
    builtin_pack,
    builtin_packs,
    load_pack_file,
    parse_pack,
)

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "metrics.md"
# Rules the spec defines that no pack has yet, each with the issue that brings it: the test
# fails when one is built without leaving this list, or when the spec gains another.
NOT_YET_BUILT = {"service.first_contact_resolution": "issue 15"}


def test_every_rule_id_of_the_spec_is_in_a_pack():
    if not SPEC.exists():
        pytest.skip(f"spec not found at {SPEC}")
    spec_ids = set(
        re.findall(
            r"`((?:amazon|ebay|etsy|walmart|facebook|service)\.[a-z0-9_]+)`", SPEC.read_text()
        )
    )
    pack_ids = {rule.id for pack in builtin_packs() for rule in pack.rules}
    assert pack_ids <= spec_ids, f"rules the spec does not define: {pack_ids - spec_ids}"
    assert spec_ids - pack_ids == set(NOT_YET_BUILT)
    assert len(pack_ids) == 37


def pack(*rules, **top):
    return {"pack": "mine", "rules": list(rules), **top}


GOOD = {
    "id": "mine.late",
    "title": "Late",
    "of": "orders",
    "metric": "rate",
    "window": {"days": 30, "by": "ship_by"},
    "bad": {"compare": "shipped_at > ship_by"},
    "breach": "> 0.05",
}


def refused(data, path="mine.yaml"):
    with pytest.raises(RuleFileError) as caught:
        parse_pack(data, path)
    return caught.value


def test_a_valid_user_rule_parses():
    rule = parse_pack(pack(GOOD), "mine.yaml").rules[0]
    assert (rule.id, rule.window_days, rule.breach.text) == ("mine.late", 30, "> 0.05")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"bad": {"compare": "shiped_at > ship_by"}}, "bad.compare", "unknown field 'shiped_at'"),
        ({"breach": ">> 5%"}, "breach", "is not a condition"),
        ({"window": {"days": 30, "by": "status"}}, "window.by", "expected instant"),
        ({"window": {"days": 0, "by": "ship_by"}}, "window.days", "greater than 0"),
        ({"metric": "ratio"}, "metric", "Input should be"),
        ({"of": "parcels"}, "of", "Input should be"),
        ({"bad": {"all": [{"fulfillment": "merchant", "any": []}]}}, "bad.all[0]", "must be alone"),
        ({"bad": {"happened": "ship_by"}}, "bad.happened", "expected happened"),
        ({"bad": {"use": "nothing"}}, "bad.use", "no definition named 'nothing'"),
        ({"bad": {"fulfillment": 3}}, "bad.fulfillment", "cannot be compared"),
        ({"bad": {"opening_message": True}}, "bad.opening_message", "inbound_messages only"),
        ({"breach": {"rate": "> 0.02", "count": "> 4"}}, "breach", "needs the rule's 'count:'"),
        ({"good": {"present": "tracking_id"}}, "good", "exactly one of: good, bad"),
        ({"tresholds": 1}, "tresholds", "Extra inputs are not permitted"),
        ({"percentile": 90}, "percentile", "beside a median only"),
        ({"actions": ["Ship on time.", ""]}, "actions.1", "an action cannot be empty"),
        ({"actions": ["  "]}, "actions.0", "an action cannot be empty"),
        ({"actions": ["x" * 301]}, "actions.0", "at most 300 characters"),
        ({"actions": "Ship on time."}, "actions", "Input should be a valid list"),
        ({"actions": [{"Ship": "on time"}]}, "actions.0", "Input should be a valid string"),
        ({"actions": ["Ship on time."] * 13}, "actions", "at most 12 items"),
    ],
)
def test_broken_rules_name_file_rule_and_field(change, field, words):
    error = refused(pack({**GOOD, **change}))
    assert (error.path, error.rule, error.field) == ("mine.yaml", "mine.late", field)
    assert words in error.message
    assert str(error).startswith(f"mine.yaml: rule mine.late, field {field}: ")


def test_every_builtin_rule_has_corrective_actions():
    """The audit pack prints them as the seller's plan of action; they are gettext msgids, so a
    placeholder in one would never be filled."""
    for rule in (rule for pack in builtin_packs() for rule in pack.rules):
        assert len(rule.actions) >= 3, rule.id
        assert all(action.strip() and "{" not in action for action in rule.actions), rule.id
        assert len(set(rule.actions)) == len(rule.actions), rule.id


def test_actions_are_optional_and_kept_in_order():
    assert parse_pack(pack(GOOD), "mine.yaml").rules[0].actions == ()
    steps = ["Ship on time.", "Upload tracking."]
    rule = parse_pack(pack({**GOOD, "actions": steps}), "mine.yaml").rules[0]
    assert rule.actions == tuple(steps)


def test_duplicate_rule_ids_are_refused():
    error = refused(pack(GOOD, GOOD))
    assert (error.rule, error.field) == ("mine.late", "id")


def test_bad_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("pack: x\nrules:\n  - id: [unclosed\n")
    with pytest.raises(RuleFileError) as caught:
        load_pack_file(path)
    assert caught.value.path == str(path) and caught.value.field.startswith("line ")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(RuleFileError, match="cannot read"):
        load_pack_file(tmp_path / "nope.yaml")


def test_a_user_file_overrides_a_threshold_without_python(tmp_path):
    path = tmp_path / "stricter.yaml"
    path.write_text(
        'pack: stricter\noverrides:\n  amazon.order_defect_rate:\n    warn: ">= 0.005"\n'
    )
    amazon = apply_overrides([builtin_pack("amazon")], [load_pack_file(path)])[0]
    odr = next(r for r in amazon.rules if r.id == "amazon.order_defect_rate")
    assert odr.warn.text == ">= 0.005" and odr.breach.text == ">= 0.01"


def test_an_override_of_an_unknown_rule_is_refused(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text('pack: typo\noverrides:\n  amazon.order_defect_rat:\n    warn: ">= 0.005"\n')
    with pytest.raises(RuleFileError) as caught:
        apply_overrides([builtin_pack("amazon")], [load_pack_file(path)])
    assert (caught.value.rule, caught.value.field) == ("amazon.order_defect_rat", "overrides")


def test_a_broken_override_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text('pack: bad\noverrides:\n  amazon.order_defect_rate:\n    warn: "about 1%"\n')
    with pytest.raises(RuleFileError) as caught:
        apply_overrides([builtin_pack("amazon")], [load_pack_file(path)])
    assert (caught.value.rule, caught.value.field) == ("amazon.order_defect_rate", "warn")


def test_a_user_file_replaces_the_actions_of_a_rule(tmp_path):
    path = tmp_path / "ours.yaml"
    path.write_text(
        "pack: ours\noverrides:\n  amazon.late_shipment_rate:\n"
        "    actions: [Ship from the second warehouse., Call the carrier at noon.]\n"
    )
    amazon = apply_overrides([builtin_pack("amazon")], [load_pack_file(path)])[0]
    rules = {rule.id: rule for rule in amazon.rules}
    assert rules["amazon.late_shipment_rate"].actions == (
        "Ship from the second warehouse.",
        "Call the carrier at noon.",
    )
    assert rules["amazon.late_shipment_rate"].breach.text == ">= 0.04"
    untouched = {rule.id: rule for rule in builtin_pack("amazon").rules}
    assert rules["amazon.late_shipment_rate_10d"] == untouched["amazon.late_shipment_rate_10d"]


def test_a_broken_override_of_actions_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text('pack: bad\noverrides:\n  amazon.late_shipment_rate:\n    actions: [""]\n')
    with pytest.raises(RuleFileError) as caught:
        load_pack_file(path)
    assert (caught.value.rule, caught.value.field) == (
        "amazon.late_shipment_rate",
        "overrides.actions.0",
    )
    assert "an action cannot be empty" in str(caught.value)


@pytest.mark.parametrize(
    ("written", "held"),
    [("30m", timedelta(minutes=30)), ("6h", timedelta(hours=6)), ("2d", timedelta(days=2))]
    + [("1h30m", timedelta(hours=1, minutes=30)), ("0s", timedelta(0))],
)
def test_for_says_how_long_a_change_must_hold_before_it_alerts(written, held):
    assert parse_pack(pack(GOOD), "mine.yaml").rules[0].alert_after is None
    rule = parse_pack(pack({**GOOD, "for": written}), "mine.yaml").rules[0]
    assert rule.alert_after == held


@pytest.mark.parametrize("written", ["6 hours", "6", 6, "", "h", "-1h", "6h 30m", "1y"])
def test_a_broken_for_names_the_rule_and_field(written):
    error = refused(pack({**GOOD, "for": written}))
    assert (error.path, error.rule, error.field) == ("mine.yaml", "mine.late", "for")
    assert "expected a duration such as 30m, 6h or 2d" in error.message


def test_an_override_sets_or_removes_for(tmp_path):
    ours = tmp_path / "ours.yaml"
    ours.write_text("pack: ours\noverrides:\n  amazon.late_shipment_rate:\n    for: 12h\n")
    amazon = apply_overrides([builtin_pack("amazon")], [load_pack_file(ours)])[0]
    rules = {rule.id: rule for rule in amazon.rules}
    assert rules["amazon.late_shipment_rate"].alert_after == timedelta(hours=12)
    assert rules["amazon.order_defect_rate"].alert_after is None

    mine = parse_pack(pack({**GOOD, "for": "6h"}), "mine.yaml")
    cleared = parse_pack({"pack": "c", "overrides": {"mine.late": {"for": None}}}, "c.yaml")
    assert apply_overrides([mine], [cleared])[0].rules[0].alert_after is None

    broken = tmp_path / "broken.yaml"
    broken.write_text("pack: broken\noverrides:\n  amazon.late_shipment_rate:\n    for: soon\n")
    with pytest.raises(RuleFileError) as caught:
        load_pack_file(broken)
    assert (caught.value.rule, caught.value.field) == ("amazon.late_shipment_rate", "overrides.for")
