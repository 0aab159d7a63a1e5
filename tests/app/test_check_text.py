"""``check``'s terminal view from the command line, on the example data: 80 columns when piped
whatever the environment says, worst first, ``--details`` and ``--rule`` (exit 2 for a rule no
account has)."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from seller_health.app.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
AS_OF = "2026-11-01T00:00:00Z"


def check(*args: str, **env: str):
    return CliRunner(env=env).invoke(
        main, ["check", "--data", str(EXAMPLES), "--as-of", AS_OF, *args], catch_exceptions=False
    )


@pytest.mark.parametrize("args", [(), ("--details",), ("--rule", "amazon.order_defect_rate")])
def test_piped_output_fits_80_columns_even_when_columns_says_otherwise(args):
    result = check(*args, COLUMNS="200")
    lines = result.output.splitlines()
    assert result.exit_code == 1  # acme-de and prairie-us breach
    assert max(len(line) for line in lines) <= 80
    assert "\x1b[" not in result.output  # no colour codes in a pipe


def test_accounts_worst_first_and_only_failing_rules_listed():
    lines = check().output.splitlines()
    accounts = [line.split()[1] for line in lines[1:] if line and not line.startswith(" ")]
    assert accounts[:3] == ["acme-de", "prairie-us", "casa-lume-br"]
    assert accounts[3:] == sorted(accounts[3:])  # the healthy ones, by id
    assert len(lines) < 60  # 229 lines before, for 8 accounts
    assert not any("service.csat" in line for line in lines)  # healthy everywhere: not listed


def test_details_lists_every_rule():
    short, full = check().output, check("--details").output
    assert "service.csat" not in short and full.count("  service.csat ") == 8


def test_rule_shows_its_evidence_for_each_account_that_has_it():
    text = check("--rule", "amazon.order_defect_rate").output
    assert "2 items as evidence: 302-2806765-6298108, 302-2281048-8451543" in text
    assert "northwind-us" in text and "casa-lume-br" not in text


def test_an_unknown_rule_exits_2_naming_it():
    result = check("--rule", "amazon.no_such_rule")
    assert result.exit_code == 2
    assert "amazon.no_such_rule" in result.output


def test_details_and_rule_are_for_the_text_output():
    result = check("--format", "json", "--details")
    assert result.exit_code == 2 and "--format text" in result.output


def test_a_file_gets_80_columns_and_no_colour(tmp_path):
    out = tmp_path / "check.txt"
    check("--output", str(out))
    text = out.read_text("utf-8")
    assert max(len(line) for line in text.splitlines()) <= 80 and "\x1b[" not in text


def test_a_terminal_gets_its_own_width_and_colour(monkeypatch):
    """On a terminal the view is as wide as the terminal says (a pipe is tested above)."""
    import os

    from seller_health.app import cli
    from seller_health.engine.evaluate import evaluate
    from seller_health.engine.rules import builtin_packs
    from seller_health.ingest.importer import import_directory
    from seller_health.store.db import open_store
    from seller_health.timeutil import parse_as_of

    engine = open_store("sqlite://")
    import_directory(engine, EXAMPLES)
    result = evaluate(engine, builtin_packs(), parse_as_of(AS_OF), None)
    engine.dispose()
    monkeypatch.setattr(cli.shutil, "get_terminal_size", lambda: os.terminal_size((120, 40)))
    text = cli._check_text(result, "en", "UTC", True, False, None)
    assert "\x1b[" in text
    plain = cli._check_text(result, "en", "UTC", False, False, None)
    assert max(len(line) for line in plain.splitlines()) <= 80
    assert "ACME Werkzeug GmbH" in text and "ACME Werkzeug GmbH" not in plain  # the room to name
