"""Plain result objects: what a check found, free of SQL, HTTP and HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from seller_health.model.forecast import Forecast

STATUS_ORDER = {"ok": 0, "insufficient_data": 1, "warn": 2, "breach": 3}


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for translation only"
    """Marks a message for the catalogs; it is translated where a report shows it."""
    return message


def worst(statuses: list[str]) -> str:
    return max(statuses, key=STATUS_ORDER.__getitem__, default="ok")


class Note(str):
    """A data-quality note: its English text, and the template and values it was filled from,
    so a report can word it in the reader's language (as a result's message is)."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, **values: Any) -> Note:
        note = super().__new__(cls, template.format(**values) if values else template)
        note.template, note.values = template, values
        return note


@dataclass
class Rolloff:
    """When the oldest bad item leaves the window, and the metric then if nothing else changed."""

    at: datetime
    value: Fraction | None
    numerator: int
    denominator: int
    count: int | None = None


@dataclass
class RuleResult:
    rule: str
    title: str
    pack: str
    status: str
    unit: str  # ratio | seconds | count | score | number
    value: Fraction | None
    numerator: int | None
    denominator: int | None
    window_start: datetime
    window_end: datetime
    thresholds: dict[str, str]
    headroom: int | None
    evidence: list[str]
    evidence_total: int
    message: str
    count: int | None = None
    p90: Fraction | None = None
    rolloff: Rolloff | None = None
    official: dict[str, Any] | None = None  # the marketplace's own figure, where fetched
    of: str = ""  # the record set the evidence ids belong to: orders, events, threads...
    items: str = ""  # what the rule counts, in words ("orders", "FBA orders")
    window_days: int | None = None
    template: str = ""  # the message with {placeholders}, so a report can re-word it
    template_values: dict[str, Any] = field(default_factory=dict)
    forecast: Forecast | None = None  # where the rule is heading (engine/forecast.py)
    extra: dict[str, Any] = field(default_factory=dict)
    # metrics.md "Steps and recovery": more bad items reaching each worse status, fewer giving
    # each better one (None: no number of items does); empty where they do not apply
    steps: dict[str, int | None] = field(default_factory=dict)
    recovery: dict[str, int | None] = field(default_factory=dict)


@dataclass
class AccountCheck:
    account_id: str
    marketplace: str
    name: str | None
    status: str
    results: list[RuleResult]
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


@dataclass
class CheckResult:
    as_of: datetime
    accounts: list[AccountCheck]
    rules: list[str] = field(default_factory=list)
    run_id: int | None = None

    @property
    def status(self) -> str:
        return worst([a.status for a in self.accounts])
