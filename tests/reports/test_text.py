"""``check --format text`` and ``--format json``: the golden English output (the terminal view
at 80 columns, the JSON contract), and the terminal view in the reader's language."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_packs, load_pack_file
from seller_health.engine.wording import PLAIN
from seller_health.ingest.importer import import_directory
from seller_health.reports.json import render_json
from seller_health.reports.text import render_text
from seller_health.store.db import open_store
from seller_health.store.history import save_run
from seller_health.store.models import OfficialMetric, Quarantined
from tests.factory import T

GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
# Amazon (a note, an official target), eBay (compound limits, a level), Facebook (durations),
# and a shop on no marketplace (the service pack only).
ACCOUNTS = ["acme-de", "harbor-uk", "casa-lume-br", "tienda-sol-mx"]


@pytest.fixture(scope="module")
def checked():
    yield from _checked()


def _checked():
    """Four example accounts checked against every built-in pack and one rule of each kind and
    unit, after three weekly checks (forecasts with a trend), with a quarantined record and an
    official target (a note, a threshold from the marketplace)."""
    engine = open_store("sqlite://")
    import_directory(engine, EXAMPLES)
    with engine.begin() as conn:
        conn.execute(
            insert(Quarantined.__table__).values(
                account_id="acme-de",
                stream="orders",
                record_key="x1",
                reason="bad date",
                raw={},
                quarantined_at=T - timedelta(days=1),
            )
        )
        conn.execute(
            insert(OfficialMetric.__table__).values(
                account_id="acme-de",
                rule_id="amazon.order_defect_rate",
                value=0.012,
                target=0.0125,
                status="breach",
                source="test",
                fetched_at=T - timedelta(days=2),
            )
        )
    packs = [*builtin_packs(), load_pack_file(GOLDEN / "custom.yaml")]
    for days in (21, 14, 7):
        save_run(engine, evaluate(engine, packs, T - timedelta(days=days), ACCOUNTS))
    yield evaluate(engine, packs, T, ACCOUNTS, evidence_limit=2)
    engine.dispose()


def test_english_text_at_80_columns_is_the_golden_one(checked):
    """Regenerate on purpose only: ``render_text(checked)`` written to golden/check.en.txt."""
    assert render_text(checked) == (GOLDEN / "check.en.txt").read_text("utf-8")


def test_english_json_is_as_it_always_was(checked):
    assert render_json(checked) == (GOLDEN / "check.en.json").read_text("utf-8")


def test_every_stored_message_is_the_plain_english_of_its_template(checked):
    """One wording: the message the engine stores is the template a report rewords, filled by the
    same Localizer in its compact English."""
    results = [r for account in checked.accounts for r in account.results]
    assert all(r.template and PLAIN.message(r) == r.message for r in results)


def test_text_in_spanish_words_thresholds_values_and_messages(checked):
    text = render_text(checked, language="es", timezone="Europe/Madrid", width=200, details=True)
    lines = text.splitlines()
    assert lines[0] == "comprobación de seller-health a 2026-11-01T01:00:00+01:00"
    assert lines[2].startswith("INCUMPLIMIENTO  acme-de (ACME Werkzeug GmbH)  amazon  ")
    assert (
        lines[3] == "  nota: 1 registro(s) de orders recibidos del marketplace no se pudieron leer"
    )
    acme = lines[2 : lines.index("", 2)]  # the first account: the worst, then by id
    row = {line.split(" ")[2]: line for line in acme if line.startswith("  ") and "." in line[:12]}
    assert re.search("INCUMPLIMIENTO +1,28\xa0%", row["amazon.order_defect_rate"])
    assert "incumplimiento ≥ 1,25\xa0%" in row["amazon.order_defect_rate"]  # the official target
    assert "1 menos → ok" in row["amazon.order_defect_rate"]
    assert "2 de 156 pedidos tuvieron un defecto en los últimos 60 días" in text
    assert re.search("sin datos +n/d", row["amazon.order_defect_rate_fba"])
    assert "incumplimiento ≥ 0,10\xa0% y ≥ 3 elementos" in row["custom.bad_rate"]
    assert "14h 10min  incumplimiento > 1d 0h" in row["custom.ship_delay"]
    assert "-35,2  en riesgo < 50,0" in row["custom.nps"]
    assert "sale del periodo el 2026-11-11T17:36:06+01:00" in re.sub(r"[ \n]+", " ", text)


def test_text_in_english_with_a_time_zone_moves_only_its_moments(checked):
    shifted = render_text(checked, timezone="America/New_York", width=200, details=True)
    assert shifted.splitlines()[0] == "seller-health check as of 2026-10-31T20:00:00-04:00"
    shown = re.sub(r"[ \n]+", " ", shifted)  # the message column wraps
    assert "leaves the window 2026-11-11T11:36:06-05:00; then 0.77%" in shown
    plain = render_text(checked, width=200, details=True)
    assert shifted.count("\n") == plain.count("\n")


def test_an_unknown_language_or_zone_is_refused(checked):
    with pytest.raises(LookupError, match="xx"):
        render_text(checked, language="xx")
    with pytest.raises(LookupError):
        render_text(checked, timezone="Mars/Olympus")
