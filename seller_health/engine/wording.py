"""Words and figures for a reader: the one place values, thresholds, messages and forecasts are
worded, in English or in any language that has a catalog.

English is the source language: its Localizer reads no catalog. Catalogs are plain ``.po`` files
under ``seller_health/locales/<lang>/LC_MESSAGES/`` read at run time, so adding a language is
adding a catalog: no compile step, no code. Babel gives each language its numbers and dates.

Figures come in two forms: a report's (Babel's "1,234", "4 hours") and the compact one of the
terminal table and the JSON ("1234", "4h 00m"). The engine stores each result's message in
compact English (:data:`PLAIN`), so it lives here, below the reports.
"""

from __future__ import annotations

import copy
import functools
import io
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_skeleton, format_timedelta
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, format_decimal
from babel.support import NullTranslations, Translations
from babel.units import format_unit

from seller_health.model.results import N_, Note
from seller_health.timeutil import format_instant

if TYPE_CHECKING:
    from seller_health.model.forecast import Forecast
    from seller_health.model.results import RuleResult

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
CONDITION = re.compile(r"(>=|<=|>|<)\s*(-?[0-9.]+)")  # a threshold: operator, number
SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}

STATUS_LABELS = {
    "ok": N_("OK"),
    "warn": N_("At risk"),
    "breach": N_("Breach"),
    "insufficient_data": N_("Not enough data"),
}
# A status as the compact form names it: "reaches breach (≥ 1.00%)".
STATUS_WORDS = {"ok": N_("ok"), "warn": N_("warn"), "breach": N_("breach")}

# The count part of a compound limit in words, by its operator: "> 2" is "more than 2 items",
# ">= 3" "at least 3 items", so a custom rule's limit reads as it is enforced.
COUNT_PARTS = {
    ">": N_("and more than {n} items"),
    ">=": N_("and at least {n} items"),
    "<": N_("and fewer than {n} items"),
    "<=": N_("and at most {n} items"),
}
COUNT_SYMBOL = N_("and {op} {n} items")  # the compact form: "and ≥ 3 items"

# The pieces of a forecast's sentence, in one place, marked for the catalogs: a report rebuilds
# the sentence in the reader's language from the forecast's own figures. Reasons are keyed by
# Reason.code.
FORECAST_TEXT = {
    "head": N_("{value} and {direction}"),
    "head_no_direction": N_("{value}"),
    "in_1_day": N_("in about 1 day"),
    "in_days": N_("in about {days} days"),
    "withheld": N_("no date can be projected"),
    "crossing_step": N_("{status} ({threshold}) {when}"),
    "crossing": N_("reaches {steps} at the current pace"),
    "crossing_none": N_("stays {status} for the next {horizon} days at the current pace"),
    "recovery_step": N_("to {status} on {date}"),
    "recovery": N_(
        "recovers {steps} as {leaving} bad {items} leave the window, if no new bad {items} arrive"
    ),
    "recovery_by_dilution": N_(
        "recovers {steps} as new {items} dilute the bad ones, if no new bad {items} arrive"
    ),
    "recovery_none": N_(
        "does not recover within {horizon} days, even if no new bad {items} arrive"
    ),
    "both": N_("{first} and {second}"),
    "confidence": N_("{confidence} confidence: {reasons}"),
    "confidence_no_reason": N_("{confidence} confidence"),
    "few_items": N_("{count} {items} in the window"),
    "no_recent_items": N_("no new {items} in the last {days} days"),
    "few_recent_bad": N_("the pace rests on {count} bad {items} in the last {days} days"),
    "recent_bad": N_("new bad {items} still arriving ({count} in the last {days} days)"),
    "few_checks": N_("only {count} earlier checks to confirm the trend"),
    "few_checks_0": N_("no earlier check to confirm the trend"),
    "few_checks_1": N_("only 1 earlier check to confirm the trend"),
    "noisy_history": N_("earlier checks go up and down"),
    "history_disagrees": N_("earlier checks show it {trend}"),
    "far_ahead": N_("more than {days} days ahead"),
}
# Single words a forecast uses: directions, trends, confidence levels.
FORECAST_WORDS = (
    N_("rising"),
    N_("falling"),
    N_("steady"),
    N_("low"),
    N_("medium"),
    N_("high"),
)


def fill(template: str, fields: Mapping[str, str]) -> str:
    """Only ``{name}`` placeholders, nothing evaluated; an unknown name stays as written."""
    return _PLACEHOLDER.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


# Catalogs ---------------------------------------------------------------------------------------

DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
CATALOGS = resources.files("seller_health.locales")


def available_languages() -> list[str]:
    """English plus every language that has a catalog."""
    found = [
        entry.name
        for entry in CATALOGS.iterdir()
        if entry.is_dir() and entry.joinpath("LC_MESSAGES", f"{DOMAIN}.po").is_file()
    ]
    return sorted({SOURCE_LANGUAGE, *found})


def best_language(locale: str | None) -> str:
    """The catalog to read for an account's ``locale`` ("pt_BR" reads "pt"); English if none."""
    if not locale:
        return SOURCE_LANGUAGE
    known = available_languages()
    base = locale.replace("-", "_").split("_")[0].lower()
    return base if base in known else SOURCE_LANGUAGE


@functools.cache
def translations(language: str) -> NullTranslations:
    """The catalog of ``language``, compiled in memory; English is the source and needs none."""
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    po = CATALOGS.joinpath(language, "LC_MESSAGES", f"{DOMAIN}.po")
    if not po.is_file():
        known = ", ".join(available_languages())
        raise LookupError(f"no catalog for language {language!r} (available: {known})")
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


# The reader's words and figures ---------------------------------------------------------------

_MEMO_SIZE = 20_000


def _remembered(method: Callable[..., str]) -> Callable[..., str]:
    """Keeps a Localizer's formatted figures: a thousand reports repeat the same thresholds,
    dates and counts, and Babel formats each in tens of microseconds."""
    name = method.__name__

    @functools.wraps(method)
    def remember(self: Localizer, *args: Any) -> str:
        memo = self._memo.setdefault(name, {})
        if args in memo:
            return memo[args]
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        text = memo[args] = method(self, *args)
        return text

    return remember


@functools.lru_cache(maxsize=64)
def localizer(language: str = "en", timezone: str = "UTC", *, compact: bool = False) -> Localizer:
    """A shared Localizer per reader, so its remembered figures serve every report."""
    return Localizer(language, timezone, compact=compact)


class Localizer:
    """Words and figures for one reader: a language, the time zone dates are shown in, and the
    form of figures (``compact`` for the terminal table and the JSON)."""

    def __init__(
        self, language: str = SOURCE_LANGUAGE, timezone: str = "UTC", *, compact: bool = False
    ) -> None:
        try:
            self.locale = Locale.parse(language)
        except (UnknownLocaleError, ValueError):
            raise LookupError(f"unknown language {language!r}") from None
        self.language = language
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self.compact = compact
        self._translations = translations(language)
        self._memo: dict[str, dict[tuple[Any, ...], str]] = {}

    def gettext(self, message: str, **values: Any) -> str:
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return text.format(n=self.integer(n), **values)

    # Figures ---------------------------------------------------------------------------------

    @_remembered
    def integer(self, value: int) -> str:
        return format_decimal(value, locale=self.locale, group_separator=not self.compact)

    @_remembered
    def number(self, value: Fraction | float, digits: int = 2) -> str:
        return self._fixed(self.locale.decimal_formats[None], value, digits)

    @_remembered
    def percent(self, value: Fraction | float, digits: int = 2) -> str:
        return self._fixed(self.locale.percent_formats[None], value, digits)

    def _fixed(self, standard: NumberPattern, value: Fraction | float, digits: int) -> str:
        """The locale's own pattern (grouping, spacing, sign placement) with exactly ``digits``
        decimals, so 0.75% and 1.00% line up in a table. The compact form has no grouping and
        rounds the float, as the terminal and the JSON always have."""
        pattern = copy.copy(standard)
        pattern.frac_prec = (digits, digits)
        if self.compact:
            scale = 10**pattern.scale  # a percentage's 100
            exact = Decimal(f"{float(value) * scale:.{digits}f}") / scale
        elif isinstance(value, Fraction):
            exact = Decimal(value.numerator) / Decimal(value.denominator)
        else:
            exact = value  # type: ignore[assignment]
        return pattern.apply(exact, self.locale, group_separator=not self.compact)

    @_remembered
    def duration(self, seconds: Fraction | float) -> str:
        """Two units where it matters: "1 day 4 hours", "3 hours 20 minutes"; compact "1d 4h",
        "3h 20m"."""
        total = round(float(seconds))
        if self.compact:
            return self._compact_duration(total)
        if total < 60:
            return format_timedelta(
                timedelta(seconds=total), threshold=10, granularity="second", locale=self.locale
            )
        parts: list[str] = []
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            amount, total = divmod(total, size)
            if amount and len(parts) < 2:
                parts.append(
                    format_timedelta(
                        timedelta(seconds=amount * size),
                        threshold=10**6,
                        granularity=unit,
                        locale=self.locale,
                    )
                )
            elif parts:
                break
        return " ".join(parts)

    def _compact_duration(self, total: int) -> str:
        """The largest unit and the next, the second one padded: "4h 05m", "1d 0h"."""
        days, rest = divmod(total, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        if days:
            parts = [(days, "day", "0"), (hours, "hour", "0")]
        elif hours:
            parts = [(hours, "hour", "0"), (minutes, "minute", "00")]
        elif minutes:
            parts = [(minutes, "minute", "0"), (secs, "second", "00")]
        else:
            parts = [(secs, "second", "0")]
        units = [
            format_unit(n, f"duration-{unit}", length="narrow", format=digits, locale=self.locale)
            for n, unit, digits in parts
        ]
        return format_list(units, style="unit-narrow", locale=self.locale)

    @_remembered
    def value(self, value: Fraction | float | None, unit: str) -> str:
        """A rule's value in its unit, as the reader writes numbers."""
        if value is None:
            return self.gettext("n/a")
        if unit == "ratio":
            return self.percent(value)
        if unit == "seconds":
            return self.duration(value)
        if unit == "count":
            return self.integer(int(value))
        if unit == "score":
            return self.number(value, 1)
        return self.number(value)

    def condition(self, text: str, unit: str) -> str:
        """``>= 0.01`` as ``≥ 1.00%``; a compound limit keeps its count part, in words (compact:
        its symbol and the bound as written)."""

        def one(match: re.Match[str]) -> str:
            op, number = match.groups()
            return f"{SYMBOLS[op]} {self.value(Fraction(number), unit)}"

        first, sep, count = text.partition(" and count ")
        shown = CONDITION.sub(one, first)
        if not sep:
            return shown
        match = CONDITION.search(count)
        if match is None:  # not a condition: shown as written rather than with a guessed word
            rest = count.strip()
            return f"{shown} and count {rest}" if self.compact else f"{shown} {rest}"
        op, number = match.groups()
        if self.compact:
            return f"{shown} {self.gettext(COUNT_SYMBOL, op=SYMBOLS[op], n=number)}"
        bound = Fraction(number)
        n = self.integer(int(bound)) if bound.denominator == 1 else self.number(bound)
        return f"{shown} {self.gettext(COUNT_PARTS[op], n=n)}"

    def status(self, name: str) -> str:
        words = STATUS_WORDS if self.compact else STATUS_LABELS
        return self.gettext(words[name]) if name in words else name

    # Sentences -------------------------------------------------------------------------------

    def message(self, result: RuleResult) -> str:
        """A result's message from its template and raw values; one stored without its template
        as it was written."""
        if not result.template:
            return result.message
        fields: dict[str, str] = {}
        for key, value in result.template_values.items():
            if value is None:
                fields[key] = self.gettext("n/a")
            elif isinstance(value, int):
                fields[key] = self.integer(value)
            else:
                fields[key] = self.gettext(str(value))
        fields["value"] = self.value(result.value, result.unit)
        fields["p90"] = self.value(result.p90, result.unit)
        return fill(self.gettext(result.template), fields)

    def note(self, note: str) -> str:
        """A data-quality note; one stored without its template as it was written."""
        if not isinstance(note, Note):
            return note
        values = {k: self.integer(v) if isinstance(v, int) else v for k, v in note.values.items()}
        return self.gettext(note.template, **values)

    # Dates -----------------------------------------------------------------------------------

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    @_remembered
    def day(self, at: datetime, with_year: bool) -> str:
        """A day without the time: "12 December" in a sentence, with the year if it differs."""
        if self.compact:
            pattern = "d MMMM y" if with_year else "d MMMM"
            return format_date(self.local(at), format=pattern, locale=self.locale)
        skeleton = "yMMMMd" if with_year else "MMMMd"
        return format_skeleton(skeleton, self.local(at), locale=self.locale)

    @_remembered
    def date(self, instant: datetime, form: str = "medium") -> str:
        return format_date(self.local(instant), format=form, locale=self.locale)

    @_remembered
    def datetime(self, instant: datetime, form: str = "medium") -> str:
        return format_datetime(self.local(instant), format=form, locale=self.locale)

    @_remembered
    def short_datetime(self, instant: datetime) -> str:
        """Compact, for evidence tables: the date and hour:minute."""
        return format_datetime(self.local(instant), format="short", locale=self.locale)

    def instant(self, at: datetime) -> str:
        """ISO 8601, as the terminal shows a moment: with a ``Z`` in UTC, else the reader's
        offset."""
        if self.timezone == "UTC":
            return format_instant(at)
        local = self.local(at)
        return local.isoformat(timespec="microseconds" if local.microsecond else "seconds")


# Every result's stored message and the JSON's forecast sentences are in this English.
PLAIN = Localizer(compact=True)


def describe_forecast(forecast: Forecast, label: str = "", words: Localizer = PLAIN) -> str:
    """The sentence of a forecast, e.g. "Order Defect Rate 0.82% and rising: reaches breach
    (≥ 1.00%) in about 9 days at the current pace (low confidence: 40 orders in the window)".

    Every piece is a ``FORECAST_TEXT`` template filled from the forecast's own figures and
    worded by ``words``. Confidence is said unless it is high, with its reasons: an uncertain
    date must not read like a promise.
    """
    f = forecast

    def say(key: str, **values: str) -> str:
        return fill(words.gettext(FORECAST_TEXT[key]), values)

    items = words.gettext(f.items)
    known = {
        "value": words.value(f.value, f.unit),
        "direction": words.gettext(f.direction or ""),
        "items": items,
        "horizon": words.integer(f.horizon_days),
        "status": words.status(f.status_now),
        "trend": words.gettext(f.trend or ""),
    }
    head = say("head" if f.direction else "head_no_direction", **known)
    if label:
        head = f"{label} {head}"

    def when(days: int) -> str:
        return say("in_1_day") if days == 1 else say("in_days", days=words.integer(days))

    def joined(parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else say("both", first=parts[0], second=parts[1])

    if f.withheld:
        body = say("withheld")
    elif f.kind == "crossing" and f.steps:
        reached = [
            say(
                "crossing_step",
                status=words.status(s.status),
                threshold=words.condition(s.threshold, f.unit),
                when=when(s.days),
            )
            for s in f.steps
        ]
        body = say("crossing", steps=joined(reached))
    elif f.kind == "crossing":
        body = say("crossing_none", **known)
    elif f.steps:
        reached = [
            say(
                "recovery_step",
                status=words.status(s.status),
                date=words.day(s.at, s.at.year != (s.at - timedelta(days=s.days)).year),
            )
            for s in f.steps
        ]
        leaving = f.steps[-1].leaving
        key = "recovery" if leaving else "recovery_by_dilution"
        body = say(key, **known, steps=joined(reached), leaving=words.integer(leaving))
    else:
        body = say("recovery_none", **known)
    sentence = f"{head}: {body}"
    if f.confidence != "high":
        reasons = []
        for reason in f.reasons:
            code = reason.code
            if code == "few_checks" and reason.count in (0, 1):
                code = f"few_checks_{reason.count}"
            values = {
                "count": words.integer(reason.count or 0),
                "days": words.integer(reason.days or 0),
            }
            reasons.append(say(code, **{**known, **values}))
        level = words.gettext(f.confidence)
        if reasons:
            confidence = say("confidence", confidence=level, reasons="; ".join(reasons))
        else:
            confidence = say("confidence_no_reason", confidence=level)
        sentence += f" ({confidence})"
    return sentence


def named_steps(counts: dict[str, int | None]) -> list[tuple[str, int]]:
    """The statuses of ``steps`` or ``recovery`` worth naming, nearest first (the engine's
    order): where two are reached by the same count only the farther is said ("3 more →
    breach", not also "3 more → warn"), and one no count reaches (None) is left out."""
    known = [(name, k) for name, k in counts.items() if k is not None]
    return [
        (name, k) for i, (name, k) in enumerate(known) if k not in {n for _, n in known[i + 1 :]}
    ]


def steps_in_words(result: RuleResult, words: Localizer) -> str:
    """A result's ``steps`` and ``recovery`` (metrics.md "Steps and recovery") in the compact
    form of the terminal: "2 more → breach; 1 fewer → ok" (the statuses of :func:`named_steps`)."""

    parts = [
        words.ngettext("{n} more → {status}", "{n} more → {status}", k, status=words.status(s))
        for s, k in named_steps(result.steps)
    ]
    parts += [
        words.ngettext("{n} fewer → {status}", "{n} fewer → {status}", k, status=words.status(s))
        for s, k in named_steps(result.recovery)
    ]
    return "; ".join(parts)
