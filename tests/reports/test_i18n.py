"""Languages: Babel figures per locale, in a report's form and the compact one of the terminal and
the JSON, and catalogs that cover every string the reports show."""

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from seller_health.engine.wording import PLAIN, Localizer, available_languages, translations

ROOT = Path(__file__).resolve().parents[2]
INSTANT = datetime(2026, 12, 12, 9, 30, tzinfo=UTC)


def _source_messages() -> set[str]:
    """Every msgid the code, templates and rule packs ask for, extracted as pybabel would."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_the_four_languages_are_available():
    assert available_languages() == ["en", "es", "it", "pt"]


@pytest.mark.parametrize("language", ["es", "it", "pt"])
def test_every_message_is_translated(language):
    path = ROOT / "seller_health" / "locales" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(_source_messages() - translated)
    assert not missing, f"{language}: {len(missing)} untranslated, e.g. {missing[:5]}"
    for m in catalog:
        if not m.id:
            continue
        source = m.id[0] if isinstance(m.id, tuple) else m.id
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for text in strings:
            # A translation keeps the placeholders it is filled with, and adds none.
            assert _placeholders(text) <= _placeholders(source) | {"{n}"}, (language, source)


def _placeholders(text: str) -> set[str]:
    import re

    return set(re.findall(r"\{\w+\}", text))


@pytest.mark.parametrize(
    ("language", "percent", "number", "date"),
    [
        ("en", "1.25%", "1,234.50", "Dec 12, 2026"),
        ("es", "1,25\xa0%", "1.234,50", "12 dic 2026"),
        ("it", "1,25%", "1.234,50", "12 dic 2026"),
        ("pt", "1,25%", "1.234,50", "12 de dez. de 2026"),
    ],
)
def test_figures_follow_the_locale(language, percent, number, date):
    t = Localizer(language)
    assert t.value(Fraction(1, 80), "ratio") == percent
    assert t.number(Fraction(2469, 2)) == number
    assert t.date(INSTANT) == date


def test_durations_keep_two_units():
    t = Localizer("en")
    assert t.duration(45) == "45 seconds"
    assert t.duration(3 * 3600 + 20 * 60 + 5) == "3 hours 20 minutes"
    assert t.duration(86400 + 4 * 3600) == "1 day 4 hours"
    assert t.duration(86400 + 59) == "1 day"
    assert Localizer("es").duration(2 * 3600) == "2 horas"


def test_dates_are_shown_in_the_readers_time_zone():
    assert Localizer("en", "America/Los_Angeles").date(datetime(2026, 12, 12, 3, tzinfo=UTC)) == (
        "Dec 11, 2026"
    )


def test_unknown_language_is_refused():
    with pytest.raises(LookupError, match="xx"):
        translations("xx")


@pytest.mark.parametrize(
    ("text", "english", "plain"),
    [
        ("> 0.02 and count > 4", "> 2.00% and more than 4 items", "> 2.00% and > 4 items"),
        ("> 0.02 and count >= 3", "> 2.00% and at least 3 items", "> 2.00% and ≥ 3 items"),
        (
            "<= 0.5 and count < 1000",
            "≤ 50.00% and fewer than 1,000 items",
            "≤ 50.00% and < 1000 items",
        ),
        ("> 0.02 and count <= 7", "> 2.00% and at most 7 items", "> 2.00% and ≤ 7 items"),
        ("> 0.02 and count > 4.0", "> 2.00% and more than 4 items", "> 2.00% and > 4.0 items"),
    ],
)
def test_compound_limits_say_their_count_operator(text, english, plain):
    """A custom rule's count part reads as it is enforced, not always as "more than"; compact, as
    the terminal and the JSON's forecasts show it, with its symbol and the bound as written."""
    assert Localizer("en").condition(text, "ratio") == english
    assert PLAIN.condition(text, "ratio") == plain
    for compact in (False, True):
        es = Localizer("es", compact=compact)
        assert es.condition(text, "ratio").startswith(
            es.condition(text.partition(" and ")[0], "ratio") + " y "
        )


@pytest.mark.parametrize(
    ("value", "unit", "report", "plain", "spanish"),
    [
        (Fraction(1, 80), "ratio", "1.25%", "1.25%", "1,25\xa0%"),
        (Fraction(23, 160), "ratio", "14.38%", "14.37%", "14,37\xa0%"),  # 14.375: a float's
        (Fraction(2469, 2), "number", "1,234.50", "1234.50", "1234,50"),
        (Fraction(-121, 2), "score", "-60.5", "-60.5", "-60,5"),
        (Fraction(12345), "count", "12,345", "12345", "12345"),
        (Fraction(45), "seconds", "45 seconds", "45s", "45s"),
        (Fraction(3 * 3600 + 5 * 60 + 9), "seconds", "3 hours 5 minutes", "3h 05m", "3h 05min"),
        (Fraction(86400 + 4 * 3600), "seconds", "1 day 4 hours", "1d 4h", "1d 4h"),
        (Fraction(20 * 60 + 3), "seconds", "20 minutes", "20m 03s", "20min 03s"),
        (None, "ratio", "n/a", "n/a", "n/d"),
    ],
)
def test_values_in_a_reports_form_and_the_compact_one(value, unit, report, plain, spanish):
    """The compact form is what the terminal and the JSON always showed: no grouping, unit letters,
    a value rounded as a float; other languages get their own symbols and units in it."""
    assert Localizer("en").value(value, unit) == report
    assert PLAIN.value(value, unit) == plain
    assert Localizer("es", compact=True).value(value, unit) == spanish


def test_the_compact_form_names_statuses_and_days_as_the_json_does():
    at = datetime(2027, 1, 12, tzinfo=UTC)
    assert (PLAIN.status("breach"), PLAIN.status("insufficient_data")) == (
        "breach",
        "insufficient_data",
    )
    assert (PLAIN.day(at, False), PLAIN.day(at, True)) == ("12 January", "12 January 2027")
    assert Localizer("en").day(at, False) == "January 12"
    es = Localizer("es", "America/Mexico_City", compact=True)
    assert (es.status("warn"), es.day(at, False)) == ("en riesgo", "11 enero")
    assert (PLAIN.instant(at), es.instant(at)) == (
        "2027-01-12T00:00:00Z",
        "2027-01-11T18:00:00-06:00",
    )
