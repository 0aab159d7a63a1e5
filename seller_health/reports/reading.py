"""Which language and time zone a report is read in: one order of precedence for every caller
(the CLI's ``--language``/``--timezone``, each recipient of an email, each reader of an alert)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from seller_health.engine.wording import available_languages, best_language


@dataclass(frozen=True)
class Reading:
    language: str
    timezone: str


def reading(
    *,
    language: str | None = None,
    timezone: str | None = None,
    fallbacks: Iterable[tuple[str | None, str | None]] = (),
) -> Reading:
    """``language`` and ``timezone`` as asked, else the first of each ``fallbacks`` (locale, zone)
    that is set (a recipient's, the account's configured, the account's as imported), else English
    and UTC. A fallback locale is read as its closest catalog ("pt_BR" reads "pt"); an asked
    language must have one. Raises ``ValueError`` naming the option at fault."""
    choices = list(fallbacks)
    if language is not None and language not in available_languages():
        known = ", ".join(available_languages())
        raise ValueError(f"--language {language}: no catalog ({known})")
    found_language = language or next((loc for loc, _ in choices if loc), None)
    zone = timezone or next((tz for _, tz in choices if tz), None) or "UTC"
    try:
        ZoneInfo(zone)
    except Exception:
        raise ValueError(f"--timezone {zone}: unknown time zone") from None
    return Reading(language or best_language(found_language), zone)
