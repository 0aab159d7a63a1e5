"""The condition vocabulary of rule files, parsed into a small typed tree (never ``eval``).

A predicate is a YAML mapping. Either one operator key::

    {all: [...]}  {any: [...]}  {not: P}  {use: name}
    {present: field}  {happened: field}  {passed: ship_by}  {compare: "shipped_at > ship_by"}
    {within: {from: sent_at, to: reply_at, hours: 24}}  {older_than: {field: sent_at, hours: 24}}
    {has_event: P}  {opening_message: true}  {silent_before: {hours: 24}}
    {account_currency: USD}

or field equalities, all of which must hold: ``{fulfillment: merchant, cancelled_by: [seller]}``.
Every leaf is two-valued: a comparison with an empty field is false, never unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from seller_health.engine.fields import RECORD_SETS, Kind


class PredicateError(ValueError):
    """A predicate that does not parse; ``path`` locates it inside the rule."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class All:
    items: tuple[Predicate, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Predicate, ...]


@dataclass(frozen=True)
class Not:
    item: Predicate


@dataclass(frozen=True)
class Is:
    field: str
    values: tuple[str | bool | int, ...]


@dataclass(frozen=True)
class Present:
    field: str


@dataclass(frozen=True)
class Passed:
    """An instant strictly before T: a deadline that has gone by."""

    field: str


@dataclass(frozen=True)
class Compare:
    left: str
    op: str
    right: str | Fraction


@dataclass(frozen=True)
class Within:
    start: str
    end: str
    seconds: Fraction


@dataclass(frozen=True)
class OlderThan:
    field: str
    seconds: Fraction


@dataclass(frozen=True)
class HasEvent:
    where: Predicate


@dataclass(frozen=True)
class OpeningMessage:
    pass


@dataclass(frozen=True)
class SilentBefore:
    seconds: Fraction


@dataclass(frozen=True)
class AccountCurrency:
    codes: tuple[str, ...]


Predicate = (
    All
    | AnyOf
    | Not
    | Is
    | Present
    | Passed
    | Compare
    | Within
    | OlderThan
    | HasEvent
    | OpeningMessage
    | SilentBefore
    | AccountCurrency
)

_COMPARE = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=|>|<|=|!=)\s*([a-z_0-9.\-]+)\s*$")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


@dataclass
class Parser:
    """Parses predicates for one record set, resolving ``use:`` against a pack's definitions."""

    record_set: str
    definitions: Mapping[str, Any]
    _resolving: tuple[str, ...] = ()

    @property
    def fields(self) -> dict[str, Kind]:
        return RECORD_SETS[self.record_set]

    def parse(self, raw: Any, path: str) -> Predicate:
        if not isinstance(raw, Mapping) or not raw:
            raise PredicateError(path, f"expected a condition mapping, got {raw!r}")
        keys = list(raw)
        if len(keys) == 1 and keys[0] in _OPERATORS:
            return _OPERATORS[keys[0]](self, raw[keys[0]], f"{path}.{keys[0]}")
        operators = [k for k in keys if k in _OPERATORS]
        if operators:
            raise PredicateError(
                path, f"operator {operators[0]!r} must be alone in its mapping; wrap in 'all:'"
            )
        items = tuple(self._equality(k, v, f"{path}.{k}") for k, v in raw.items())
        return items[0] if len(items) == 1 else All(items)

    def field(self, name: Any, path: str, *kinds: Kind) -> str:
        if not isinstance(name, str) or name not in self.fields:
            known = ", ".join(sorted(self.fields))
            raise PredicateError(
                path, f"unknown field {name!r} for {self.record_set} (known: {known})"
            )
        if kinds and self.fields[name] not in kinds:
            wanted = " or ".join(k.value for k in kinds)
            raise PredicateError(
                path, f"field {name!r} is {self.fields[name].value}, expected {wanted}"
            )
        return name

    def _equality(self, name: str, value: Any, path: str) -> Is:
        self.field(name, path)
        values = tuple(value) if isinstance(value, list) else (value,)
        kind = self.fields[name]
        for item in values:
            ok = {
                Kind.BOOL: isinstance(item, bool),
                Kind.INT: isinstance(item, int) and not isinstance(item, bool),
                Kind.TEXT: isinstance(item, str),
            }.get(kind, False)
            if not ok:
                raise PredicateError(
                    path, f"{item!r} cannot be compared with {kind.value} field {name!r}"
                )
        if not values:
            raise PredicateError(path, "empty list of values")
        return Is(name, values)

    def _items(self, raw: Any, path: str) -> tuple[Predicate, ...]:
        if not isinstance(raw, list) or not raw:
            raise PredicateError(path, "expected a non-empty list of conditions")
        return tuple(self.parse(item, f"{path}[{i}]") for i, item in enumerate(raw))

    def _seconds(self, raw: Any, path: str) -> Fraction:
        spec = raw if isinstance(raw, Mapping) else {}
        units = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
        given = [u for u in units if u in spec]
        if len(given) != 1:
            raise PredicateError(path, "give exactly one of days, hours, minutes or seconds")
        amount = spec[given[0]]
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
            raise PredicateError(
                f"{path}.{given[0]}", f"expected a non-negative number, got {amount!r}"
            )
        return Fraction(str(amount)) * units[given[0]]

    def _check_keys(self, raw: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(raw, Mapping):
            raise PredicateError(path, f"expected a mapping, got {raw!r}")
        extra = set(raw) - allowed
        if extra:
            raise PredicateError(
                path, f"unknown key {sorted(extra)[0]!r} (allowed: {', '.join(sorted(allowed))})"
            )
        return raw


def _all(p: Parser, raw: Any, path: str) -> Predicate:
    return All(p._items(raw, path))


def _any(p: Parser, raw: Any, path: str) -> Predicate:
    return AnyOf(p._items(raw, path))


def _not(p: Parser, raw: Any, path: str) -> Predicate:
    return Not(p.parse(raw, path))


def _use(p: Parser, raw: Any, path: str) -> Predicate:
    if not isinstance(raw, str) or raw not in p.definitions:
        known = ", ".join(sorted(p.definitions)) or "none"
        raise PredicateError(path, f"no definition named {raw!r} (defined: {known})")
    if raw in p._resolving:
        raise PredicateError(path, f"definition {raw!r} refers to itself")
    inner = Parser(p.record_set, p.definitions, (*p._resolving, raw))
    return inner.parse(p.definitions[raw], f"define.{raw}")


def _present(p: Parser, raw: Any, path: str) -> Predicate:
    return Present(p.field(raw, path))


def _happened(p: Parser, raw: Any, path: str) -> Predicate:
    return Present(p.field(raw, path, Kind.HAPPENED))


def _passed(p: Parser, raw: Any, path: str) -> Predicate:
    return Passed(p.field(raw, path, Kind.INSTANT, Kind.HAPPENED))


def _compare(p: Parser, raw: Any, path: str) -> Predicate:
    match = _COMPARE.match(raw) if isinstance(raw, str) else None
    if not match:
        raise PredicateError(path, f"expected 'field op field-or-number', got {raw!r}")
    left, op, right = match.groups()
    p.field(left, path)
    left_kind = p.fields[left]
    if _NUMBER.match(right):
        if not left_kind.is_number:
            raise PredicateError(path, f"{left!r} is {left_kind.value}: compare it with a field")
        return Compare(left, op, Fraction(right))
    p.field(right, path)
    if left_kind.is_instant != p.fields[right].is_instant:
        raise PredicateError(path, f"cannot compare {left!r} with {right!r}: different kinds")
    return Compare(left, op, right)


def _within(p: Parser, raw: Any, path: str) -> Predicate:
    spec = p._check_keys(raw, path, {"from", "to", "days", "hours", "minutes", "seconds"})
    start = p.field(spec.get("from"), f"{path}.from", Kind.INSTANT, Kind.HAPPENED)
    end = p.field(spec.get("to"), f"{path}.to", Kind.INSTANT, Kind.HAPPENED)
    return Within(
        start, end, p._seconds({k: v for k, v in spec.items() if k not in ("from", "to")}, path)
    )


def _older_than(p: Parser, raw: Any, path: str) -> Predicate:
    spec = p._check_keys(raw, path, {"field", "days", "hours", "minutes", "seconds"})
    field = p.field(spec.get("field"), f"{path}.field", Kind.INSTANT, Kind.HAPPENED)
    return OlderThan(field, p._seconds({k: v for k, v in spec.items() if k != "field"}, path))


def _has_event(p: Parser, raw: Any, path: str) -> Predicate:
    if p.record_set not in ("orders",):
        raise PredicateError(path, f"has_event applies to orders, not {p.record_set}")
    return HasEvent(Parser("events", p.definitions).parse(raw, path))


def _opening_message(p: Parser, raw: Any, path: str) -> Predicate:
    if p.record_set != "inbound_messages" or raw is not True:
        raise PredicateError(path, "opening_message: true applies to inbound_messages only")
    return OpeningMessage()


def _silent_before(p: Parser, raw: Any, path: str) -> Predicate:
    if p.record_set != "inbound_messages":
        raise PredicateError(path, "silent_before applies to inbound_messages only")
    p._check_keys(raw, path, {"days", "hours", "minutes", "seconds"})
    return SilentBefore(p._seconds(raw, path))


def _account_currency(p: Parser, raw: Any, path: str) -> Predicate:
    codes = tuple(raw) if isinstance(raw, list) else (raw,)
    if not codes or not all(isinstance(c, str) and re.fullmatch(r"[A-Z]{3}", c) for c in codes):
        raise PredicateError(path, f"expected ISO 4217 codes such as USD, got {raw!r}")
    return AccountCurrency(codes)


_OPERATORS = {
    "all": _all,
    "any": _any,
    "not": _not,
    "use": _use,
    "present": _present,
    "happened": _happened,
    "passed": _passed,
    "compare": _compare,
    "within": _within,
    "older_than": _older_than,
    "has_event": _has_event,
    "opening_message": _opening_message,
    "silent_before": _silent_before,
    "account_currency": _account_currency,
}


def fields_read(node: Predicate | None) -> set[str]:
    """The record-set fields a predicate looks at (an event's own fields are not the record's)."""
    if node is None:
        return set()
    if isinstance(node, All | AnyOf):
        return set().union(*(fields_read(item) for item in node.items))
    if isinstance(node, Not):
        return fields_read(node.item)
    if isinstance(node, Is | Present | Passed):
        return {node.field}
    if isinstance(node, Compare):
        return {node.left} | ({node.right} if isinstance(node.right, str) else set())
    if isinstance(node, Within):
        return {node.start, node.end}
    if isinstance(node, OlderThan):
        return {node.field}
    return set()
