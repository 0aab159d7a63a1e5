"""Rule packs: YAML data files parsed into typed, validated :class:`Rule` objects.

A broken file is refused whole, with the file, the rule id and the field at fault, because a
silently skipped rule is a seller who believes they are safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from importlib.metadata import entry_points
from importlib.resources import as_file, files
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from seller_health.engine.fields import Kind
from seller_health.engine.metrics import KINDS, metric_kind
from seller_health.engine.pack import (
    Actions,
    CalendarSpec,
    Duration,
    Level,
    OverrideSpec,
    Pack,
    Qualification,
    Rule,
    ValueExpr,
    _Strict,
)
from seller_health.engine.predicates import Parser, Predicate, PredicateError
from seller_health.engine.thresholds import Comparison, Condition, ConditionError
from seller_health.model.marketplaces import RULE_PACK_GROUP, marketplaces, registered


class RuleFileError(ValueError):
    """A rule file that cannot be used. Names the file, the rule and the field."""

    def __init__(self, path: str, rule: str | None, field: str | None, message: str) -> None:
        where = path + (f": rule {rule}" if rule else "") + (f", field {field}" if field else "")
        super().__init__(f"{where}: {message}")
        self.path, self.rule, self.field, self.message = path, rule, field, message


def _known_kind(name: object) -> object:
    """A metric kind of the registry (``engine/metrics.py``), refused as pydantic refuses a
    literal."""
    if isinstance(name, str) and name in KINDS:
        return name
    *first, last = (repr(kind) for kind in KINDS)
    expected = f"{', '.join(first)} or {last}" if first else last
    raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})


# A rule's ``metric:``, by the name its kind registered.
MetricName = Annotated[str, BeforeValidator(_known_kind)]


class WindowSpec(_Strict):
    days: int = Field(gt=0)
    by: str
    fallback_days: int | None = Field(default=None, gt=0)
    min_orders: int | None = Field(default=None, ge=0)


class QualificationSpec(_Strict):
    """Volume and age an account needs before a badge or level can be judged."""

    window_days: int = Field(gt=0)
    orders_where: Any = None
    min_orders: int = Field(default=0, ge=0)
    min_sales: dict[str, Decimal] = {}
    min_account_age_days: int = Field(default=0, ge=0)


class LevelSpec(_Strict):
    level: str
    if_any_status: list[str] = []
    unless_any_status: list[str] = []
    qualify: QualificationSpec | None = None


class LevelsSpec(_Strict):
    key: str = "level"
    levels: list[LevelSpec]


class RuleSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    title: str
    description: str = ""
    of: Literal["orders", "events", "inbound_messages", "outbound_messages", "threads", "buyers"]
    metric: MetricName
    window: WindowSpec
    where: Any = None
    good: Any = None
    bad: Any = None
    value: Any = None
    plus: Any = None
    minus: Any = None
    group_by: str | None = None
    count_distinct: str | None = None
    count: Literal["items"] | dict[Literal["distinct"], str] | None = None
    breach: str | dict[Literal["rate", "count"], str] | None = None
    warn: str | dict[Literal["rate", "count"], str] | None = None
    min_sample: int = Field(default=1, ge=0)
    percentile: int | None = Field(default=None, gt=0, lt=100)
    message: str | None = None
    business_hours: CalendarSpec | None = None
    items: str = "items"
    actions: Actions = []
    for_: Duration | None = Field(default=None, alias="for")


class PackSpec(_Strict):
    pack: str = Field(pattern=r"^[a-z0-9_\-]+$")
    title: str = ""
    applies_to: str = "all"
    define: dict[str, Any] = {}
    gate: QualificationSpec | None = None
    levels: LevelsSpec | None = None
    rules: list[dict[str, Any]] = []
    overrides: dict[str, dict[str, Any]] = {}


def _condition(raw: Any, rule_id: str, path: str, name: str, compound: bool) -> Condition | None:
    if raw is None:
        return None
    try:
        if isinstance(raw, dict):
            if "rate" not in raw:
                raise ConditionError("a compound condition needs 'rate' (and 'count')")
            value = Comparison.parse(raw["rate"])
            count = Comparison.parse(raw["count"]) if "count" in raw else None
        else:
            value, count = Comparison.parse(raw), None
    except ConditionError as exc:
        raise RuleFileError(path, rule_id, name, str(exc)) from None
    if count is not None and not compound:
        raise RuleFileError(path, rule_id, name, "a count condition needs the rule's 'count:'")
    if count is None and compound:
        raise RuleFileError(path, rule_id, name, "the rule has 'count:', so give {rate:, count:}")
    return Condition(value, count)


def _pydantic_error(
    exc: ValidationError, path: str, rule: str | None, prefix: str = ""
) -> RuleFileError:
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    return RuleFileError(
        path, rule, prefix + loc if loc else prefix.rstrip(".") or None, first["msg"]
    )


def _value_expr(raw: Any, parser: Parser, rule_id: str, path: str) -> ValueExpr:
    try:
        if isinstance(raw, str):
            return ValueExpr(field=parser.field(raw, "value", Kind.INT, Kind.MONEY))
        if isinstance(raw, dict) and set(raw) == {"duration"} and isinstance(raw["duration"], dict):
            spec = raw["duration"]
            if set(spec) != {"from", "to"}:
                raise PredicateError("value.duration", "expected {from: instant, to: instant}")
            start = parser.field(spec["from"], "value.duration.from", Kind.INSTANT, Kind.HAPPENED)
            end = parser.field(spec["to"], "value.duration.to", Kind.INSTANT, Kind.HAPPENED)
            return ValueExpr(start=start, end=end)
        raise PredicateError("value", f"expected a numeric field or {{duration: ...}}, got {raw!r}")
    except PredicateError as exc:
        raise RuleFileError(path, rule_id, exc.path, exc.message) from None


# Rule fields only some metric kinds accept (``MetricKind.options``), and the refusal of others.
OPTIONS = {
    "count": "a compound count applies to {kinds} rules only",
    "percentile": "a percentile is reported beside a {kinds} only",
}


def parse_rule(raw: Any, pack: str, definitions: Mapping[str, Any], path: str) -> Rule:
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(raw, dict):
        raise RuleFileError(path, None, "rules", f"each rule must be a mapping, got {raw!r}")
    try:
        spec = RuleSpec.model_validate(raw)
    except ValidationError as exc:
        raise _pydantic_error(exc, path, rule_id if isinstance(rule_id, str) else None) from None
    parser = Parser(spec.of, definitions)

    def predicate(name: str) -> Predicate | None:
        value = getattr(spec, name)
        if value is None:
            return None
        try:
            return parser.parse(value, name)
        except PredicateError as exc:
            raise RuleFileError(path, spec.id, exc.path, exc.message) from None

    def fail(name: str, message: str) -> RuleFileError:
        return RuleFileError(path, spec.id, name, message)

    try:
        parser.field(spec.window.by, "window.by", Kind.INSTANT, Kind.HAPPENED)
        if spec.group_by:
            parser.field(spec.group_by, "group_by", Kind.TEXT)
        if spec.count_distinct:
            parser.field(spec.count_distinct, "count_distinct", Kind.TEXT)
        count_field = spec.count["distinct"] if isinstance(spec.count, dict) else spec.count
        if count_field not in (None, "items"):
            parser.field(count_field, "count.distinct", Kind.TEXT)
    except PredicateError as exc:
        raise RuleFileError(path, spec.id, exc.path, exc.message) from None
    if (spec.window.fallback_days is None) != (spec.window.min_orders is None):
        raise fail("window", "fallback_days and min_orders go together")

    kind = metric_kind(spec.metric)
    for need in kind.needs:
        options = need.split("|")
        given = [o for o in options if getattr(spec, o) is not None]
        if len(given) != 1:
            raise fail(
                need.split("|")[0],
                f"a {spec.metric} rule needs exactly one of: {', '.join(options)}",
            )
    used = {n for kind in KINDS.values() for need in kind.needs for n in need.split("|")}
    for name in used - {n for need in kind.needs for n in need.split("|")}:
        if getattr(spec, name) is not None:
            raise fail(name, f"not used by a {spec.metric} rule")
    for option, refusal in OPTIONS.items():
        if getattr(spec, option) is not None and option not in kind.options:
            accepting = " or ".join(k.name for k in KINDS.values() if option in k.options)
            raise fail(option, refusal.format(kinds=accepting))

    compound = spec.count is not None
    return Rule(
        id=spec.id,
        title=spec.title,
        description=spec.description,
        pack=pack,
        of=spec.of,
        metric=spec.metric,
        window_days=spec.window.days,
        window_by=spec.window.by,
        fallback_days=spec.window.fallback_days,
        min_orders=spec.window.min_orders,
        where=predicate("where"),
        good=predicate("good"),
        bad=predicate("bad"),
        value=_value_expr(spec.value, parser, spec.id, path) if spec.value is not None else None,
        plus=predicate("plus"),
        minus=predicate("minus"),
        group_by=spec.group_by,
        count_distinct=spec.count_distinct,
        count=count_field,
        breach=_condition(spec.breach, spec.id, path, "breach", compound),
        warn=_condition(spec.warn, spec.id, path, "warn", compound),
        min_sample=spec.min_sample,
        percentile=spec.percentile,
        message=spec.message,
        business_hours=spec.business_hours,
        items=spec.items,
        source=path,
        actions=tuple(spec.actions),
        alert_after=spec.for_,
    )


def _qualification(
    spec: QualificationSpec, definitions: Mapping[str, Any], path: str, where: str
) -> Qualification:
    orders_where = None
    if spec.orders_where is not None:
        try:
            orders_where = Parser("orders", definitions).parse(spec.orders_where, "orders_where")
        except PredicateError as exc:
            raise RuleFileError(path, None, f"{where}.{exc.path}", exc.message) from None
    return Qualification(
        window_days=spec.window_days,
        orders_where=orders_where,
        min_orders=spec.min_orders,
        min_sales={k: Fraction(v) for k, v in spec.min_sales.items()},
        min_account_age_days=spec.min_account_age_days,
    )


def parse_pack(data: Any, path: str) -> Pack:
    if not isinstance(data, dict):
        raise RuleFileError(
            path, None, None, "a rule file is a YAML mapping with 'pack:' and 'rules:'"
        )
    try:
        spec = PackSpec.model_validate(data)
    except ValidationError as exc:
        raise _pydantic_error(exc, path, None) from None
    if spec.applies_to not in (*marketplaces(), "all"):
        raise RuleFileError(
            path, None, "applies_to", f"{spec.applies_to!r} is not a marketplace or 'all'"
        )
    rules = tuple(parse_rule(raw, spec.pack, spec.define, path) for raw in spec.rules)
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleFileError(path, rule.id, "id", "defined twice in this file")
        seen.add(rule.id)
    overrides: dict[str, OverrideSpec] = {}
    for rule_id, raw in spec.overrides.items():
        try:
            overrides[rule_id] = OverrideSpec.model_validate(raw)
        except ValidationError as exc:
            raise _pydantic_error(exc, path, rule_id, "overrides.") from None
    levels: tuple[Level, ...] = ()
    if spec.levels:
        levels = tuple(
            Level(
                level=lv.level,
                if_any_status=tuple(lv.if_any_status),
                unless_any_status=tuple(lv.unless_any_status),
                qualify=_qualification(lv.qualify, spec.define, path, f"levels.{lv.level}.qualify")
                if lv.qualify
                else None,
            )
            for lv in spec.levels.levels
        )
    return Pack(
        name=spec.pack,
        title=spec.title,
        applies_to=spec.applies_to,
        rules=rules,
        gate=_qualification(spec.gate, spec.define, path, "gate") if spec.gate else None,
        levels=levels,
        level_key=spec.levels.key if spec.levels else "level",
        source=path,
        overrides=overrides,
    )


def load_pack_file(path: str | Path) -> Pack:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError(str(path), None, None, f"cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        raise RuleFileError(
            str(path), None, where, f"not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    return parse_pack(data, str(path))


def pack_names() -> list[str]:
    """Every pack that can be named: those shipped in ``rules/`` (installed as
    ``seller_health.builtin_rules``), marketplaces' first in the vocabulary's order, then the
    others by name; then the packs plugins register in the entry-point group
    ``seller_health.rule_packs`` (a name shipped here is not replaced)."""
    shipped = sorted(
        entry.name.removesuffix(".yaml")
        for entry in files("seller_health.builtin_rules").iterdir()
        if entry.name.endswith(".yaml")
    )
    order = {m: i for i, m in enumerate(marketplaces())}
    shipped.sort(key=lambda name: (order.get(name, len(order)), name))
    return shipped + [name for name in registered(RULE_PACK_GROUP) if name not in shipped]


def builtin_pack(name: str) -> Pack:
    """A pack by name: shipped in ``rules/``, or a plugin's (its entry point gives the path of
    its YAML file, or a callable returning one)."""
    names = pack_names()
    if name not in names:
        raise RuleFileError(
            name, None, None, f"no built-in pack {name!r} (packs: {', '.join(names)})"
        )
    shipped = files("seller_health.builtin_rules") / f"{name}.yaml"
    if shipped.is_file():
        with as_file(shipped) as path:
            pack = load_pack_file(path)
        return replace(pack, source=f"rules/{name}.yaml")
    entry = next(iter(entry_points(group=RULE_PACK_GROUP, name=name)))
    try:
        target = entry.load()
        path = Path(target() if callable(target) else target)
    except Exception as exc:  # a broken plugin is its entry point's fault, named as such
        where = f"entry point {name} = {entry.value} ({RULE_PACK_GROUP})"
        raise RuleFileError(where, None, None, f"cannot load: {exc}") from None
    return replace(load_pack_file(path), source=f"{entry.value} ({path})")


def builtin_packs() -> list[Pack]:
    return [builtin_pack(name) for name in pack_names()]


def apply_overrides(packs: Iterable[Pack], overriding: Iterable[Pack]) -> list[Pack]:
    """Return ``packs`` with every ``overrides:`` entry applied to its rule.

    An override's ``actions`` replace the rule's list whole rather than extending it, so a plan
    of action never mixes the built-in steps with a seller's own steps that supersede them.
    """
    packs = list(packs)
    known = {rule.id for pack in packs for rule in pack.rules}
    patches: dict[str, tuple[OverrideSpec, str]] = {}
    for source in overriding:
        for rule_id, override in source.overrides.items():
            if rule_id not in known:
                raise RuleFileError(
                    source.source, rule_id, "overrides", "no loaded pack defines this rule"
                )
            patches[rule_id] = (override, source.source)
    result = []
    for pack in packs:
        rules = []
        for rule in pack.rules:
            if rule.id not in patches:
                rules.append(rule)
                continue
            override, source = patches[rule.id]
            compound = rule.count is not None
            changes: dict[str, Any] = {}
            for name in ("breach", "warn"):
                if name in override.model_fields_set:
                    changes[name] = _condition(
                        getattr(override, name), rule.id, source, name, compound
                    )
            if override.title is not None:
                changes["title"] = override.title
            if override.min_sample is not None:
                changes["min_sample"] = override.min_sample
            if override.window_days is not None:
                changes["window_days"] = override.window_days
            if override.business_hours is not None:
                changes["business_hours"] = override.business_hours
            if override.actions is not None:
                changes["actions"] = tuple(override.actions)
            if "for_" in override.model_fields_set:  # "for: null" removes the rule's delay
                changes["alert_after"] = override.for_
            rules.append(replace(rule, **changes))
        result.append(replace(pack, rules=tuple(rules)))
    return result


class PackSelectionError(ValueError):
    """A ``--rules`` entry (or an account's ``rules``) that is neither a pack nor a good file."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def select_packs(names: Sequence[str]) -> list[Pack]:
    """Resolve a selection of rules: pack names apply to every account, files as they declare,
    ``default`` is every built-in pack, and files holding only ``overrides:`` adjust whatever
    else is selected (the built-in packs if nothing is)."""
    chosen: list[Pack] = []
    overriding: list[Pack] = []
    known = pack_names()
    for index, name in enumerate(names):
        if name in known:
            chosen.append(replace(builtin_pack(name), applies_to="all"))
            continue
        if name == "default":
            chosen.extend(builtin_packs())
            continue
        if not Path(name).is_file():
            listed = ", ".join(known)
            raise PackSelectionError(index, f"{name}: no such pack ({listed}) or file")
        try:
            pack = load_pack_file(name)
        except RuleFileError as exc:
            raise PackSelectionError(index, str(exc)) from None
        if pack.rules:
            chosen.append(pack)
        if pack.overrides:
            overriding.append(pack)
    return apply_overrides(chosen or builtin_packs(), overriding)
