"""``seller-health report`` and ``audit``: stored runs re-rendered, audits reproducible."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from seller_health.app.cli import main
from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_packs
from seller_health.reports.html import render_page, report_page
from seller_health.store.db import open_store
from seller_health.store.history import load_run, save_run
from tests.factory import Seller, T, ago

PAST = (T - timedelta(days=3)).isoformat()


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def db(tmp_path) -> str:
    path = str(tmp_path / "store.db")
    engine = open_store(path)
    seller = Seller("acme-us", name="Acme & Sons")
    for i in range(150):
        seller.order(f"114-{i:07}", ago(days=5 + i % 50), shipped_at=ago(days=4 + i % 50))
    for i in range(3):
        seller.event(f"claim{i}", "a_to_z_claim", ago(days=10), order_id=f"114-{i:07}")
    seller.message("m1", "t1", ago(days=6), direction="in", order_id="114-0000001")
    seller.save(engine)
    engine.dispose()
    return path


def test_a_stored_run_renders_as_it_did_when_checked(db):
    engine = open_store(db)
    fresh = evaluate(engine, builtin_packs(), T)
    run_id = save_run(engine, fresh)
    stored = load_run(engine, run_id)
    assert render_page(report_page(engine, stored)) == render_page(report_page(engine, fresh))

    result = run("report", "--db", db, "--run", str(run_id), "--format", "text")
    assert result.exit_code == 0
    assert "[Breach] Order Defect Rate: 2.00%" in result.output
    assert run("report", "--db", db, "--run", "999").exit_code == 2


def test_audit_of_a_past_moment_is_reproducible(db, tmp_path):
    first, second = tmp_path / "first.html", tmp_path / "second.html"
    result = run("audit", "acme-us", "--db", db, "--as-of", PAST, "--output", str(first))
    assert result.exit_code == 1  # the account breaches
    # Later data arrive (after the audited moment): the audit of that moment does not change.
    engine = open_store(db)
    Seller("acme-us").event("late", "chargeback", ago(days=1), order_id="114-0000005").save(
        engine, account=False
    )
    run("audit", "acme-us", "--db", db, "--as-of", PAST, "--output", str(second))
    assert first.read_text() == second.read_text()
    html = first.read_text()
    assert "Acme &amp; Sons" in html
    assert "Corrective actions" in html and "Data sources and freshness" in html
    assert "A-to-z claim" in html  # the timeline of an offending order


def test_audit_writes_a_pdf(db, tmp_path):
    pytest.importorskip("weasyprint")
    pdf = tmp_path / "audit.pdf"
    result = run(
        "audit", "acme-us", "--db", db, "--output", str(tmp_path / "a.html"), "--pdf", str(pdf)
    )
    assert result.exit_code == 1
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 5000


def test_audit_of_an_unknown_account_is_bad_input(db):
    result = run("audit", "nobody", "--db", db)
    assert result.exit_code == 2 and "nobody" in result.output
