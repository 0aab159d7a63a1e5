"""Languages: gettext catalogs for the words, Babel for numbers, percentages and dates.

Catalogs are plain ``.po`` files under ``seller_health/locales/<lang>/LC_MESSAGES/`` read at run
time, so adding a language is adding a catalog: no compile step, no code. English is the source
language and needs none. Rule titles, item words and corrective actions of the built-in packs are
in the catalogs too (:func:`extract_rule_packs` feeds them to ``pybabel extract``).
"""

from __future__ import annotations

import copy
import functools
import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from typing import IO, Any
from zoneinfo import ZoneInfo

import yaml
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_skeleton, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, format_decimal
from babel.support import NullTranslations, Translations

from seller_health.engine.text import CONDITION, COUNT_PARTS, N_, SYMBOLS

STATUS_LABELS = {
    "ok": N_("OK"),
    "warn": N_("At risk"),
    "breach": N_("Breach"),
    "insufficient_data": N_("Not enough data"),
}
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
def localizer(language: str = "en", timezone: str = "UTC") -> Localizer:
    """A shared Localizer per reader, so its remembered figures serve every report."""
    return Localizer(language, timezone)


class Localizer:
    """Words and figures for one reader: a language and the time zone dates are shown in."""

    def __init__(self, language: str = SOURCE_LANGUAGE, timezone: str = "UTC") -> None:
        try:
            self.locale = Locale.parse(language)
        except (UnknownLocaleError, ValueError):
            raise LookupError(f"unknown language {language!r}") from None
        self.language = language
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
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
        return format_decimal(value, locale=self.locale)

    @_remembered
    def number(self, value: Fraction | float, digits: int = 2) -> str:
        return self._fixed(self.locale.decimal_formats[None], value, digits)

    @_remembered
    def percent(self, value: Fraction | float, digits: int = 2) -> str:
        return self._fixed(self.locale.percent_formats[None], value, digits)

    def _fixed(self, standard: NumberPattern, value: Fraction | float, digits: int) -> str:
        """The locale's own pattern (grouping, spacing, sign placement) with exactly ``digits``
        decimals, so 0.75% and 1.00% line up in a table."""
        pattern = copy.copy(standard)
        pattern.frac_prec = (digits, digits)
        return pattern.apply(
            Decimal(value.numerator) / Decimal(value.denominator)
            if isinstance(value, Fraction)
            else value,
            self.locale,
        )

    @_remembered
    def duration(self, seconds: Fraction | float) -> str:
        """Two units where it matters ("1 day 4 hours", "3 hours 20 minutes"), localized."""
        total = round(float(seconds))
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
        """``>= 0.01`` as ``≥ 1.00%``; a compound limit keeps its count part."""

        def one(match: re.Match[str]) -> str:
            op, number = match.groups()
            return f"{SYMBOLS[op]} {self.value(Fraction(number), unit)}"

        first, sep, count = text.partition(" and count ")
        shown = CONDITION.sub(one, first)
        if not sep:
            return shown
        match = CONDITION.search(count)
        if match is None:  # not a condition: shown as written rather than with a guessed word
            return f"{shown} {count.strip()}"
        op, number = match.groups()
        bound = Fraction(number)
        n = self.integer(int(bound)) if bound.denominator == 1 else self.number(bound)
        return f"{shown} {self.gettext(COUNT_PARTS[op], n=n)}"

    def status(self, name: str) -> str:
        return self.gettext(STATUS_LABELS[name]) if name in STATUS_LABELS else name

    @_remembered
    def day(self, at: datetime, with_year: bool) -> str:
        """A day without the time: "12 December" in a sentence, with the year if it differs."""
        skeleton = "yMMMMd" if with_year else "MMMMd"
        return format_skeleton(skeleton, self.local(at), locale=self.locale)

    # Dates -----------------------------------------------------------------------------------

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

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


def extract_rule_packs(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """A ``pybabel extract`` method for rule packs: titles, descriptions, item words and actions.

    Registered in ``babel.cfg`` for ``rules/**.yaml``.
    """
    data = yaml.safe_load(fileobj.read().decode("utf-8")) or {}
    messages: list[tuple[str, str]] = []
    if isinstance(data.get("title"), str):
        messages.append((data["title"], "pack title"))
    for rule in data.get("rules", []) or []:
        rule_id = rule.get("id", "?")
        for key in ("title", "description", "items", "message"):
            if isinstance(rule.get(key), str):
                messages.append((rule[key], f"{rule_id} {key}"))
        for action in rule.get("actions", []) or []:
            messages.append((action, f"{rule_id} action"))
    for text, comment in messages:
        yield 0, None, text, [comment]
