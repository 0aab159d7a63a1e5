"""``seller-health email``: who gets which report, in which language, received by a real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from seller_health.app.cli import main
from seller_health.app.daemon import wanted_jobs
from seller_health.config import load_config
from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_packs
from seller_health.ingest.importer import import_directory
from seller_health.notify.delivery import deliver_account_report, deliver_digest, plan
from seller_health.store.db import open_store
from seller_health.store.history import save_run
from tests.factory import T
from tests.notify.smtp import Recorder
from tests.notify.test_mailer import RefuseRecipients

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / "store.db")
    engine = open_store(path)
    import_directory(engine, EXAMPLES)
    save_run(engine, evaluate(engine, builtin_packs(), T))
    engine.dispose()
    return path


def _config(tmp_path: Path, port: int, store: str) -> Path:
    path = tmp_path / "seller-health.toml"
    path.write_text(
        f"""
database = "{store}"

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
sender = "seller-health <reports@agency.example>"
attempts = 2

[recipients.acme]
email = "owner@acme.example"
accounts = ["acme-de"]
locale = "es"

[recipients.agency]
email = ["ops@agency.example", "lead@agency.example"]
accounts = ["*"]
""",
        encoding="utf-8",
    )
    return path


def test_each_recipient_gets_their_report_in_their_language(serve, tmp_path, store):
    handler = Recorder()
    server = serve(handler)
    config = _config(tmp_path, server.port, store)

    result = CliRunner().invoke(main, ["email", "--config", str(config)])

    assert result.exit_code == 0, result.output
    by_recipient = {r.rcpt_tos: r.parsed() for r in handler.received}
    assert set(by_recipient) == {
        ("owner@acme.example",),
        ("ops@agency.example", "lead@agency.example"),
    }
    seller = by_recipient["owner@acme.example",]
    assert seller["Subject"] == "[Incumplimiento] Salud de la cuenta: ACME Werkzeug GmbH"
    assert seller.get_content_type() == "multipart/alternative"
    text, html = seller.get_payload()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert "Tasa de defectos en pedidos" in text.get_content()
    assert 'style="' in html.get_content()  # CSS inlined for mail clients
    digest = by_recipient["ops@agency.example", "lead@agency.example"]
    assert digest["Subject"] == "[Breach] 3 accounts need attention"
    body = digest.get_payload()[0].get_content()
    # worst first: the two breaching accounts before the one at risk, healthy ones after
    assert body.index("Prairie Outfitters") < body.index("Casa Lume") < body.index("Harbor")
    assert "sent" in result.output


def test_a_refused_recipient_is_reported_and_fails_the_command(serve, tmp_path, store):
    handler = RefuseRecipients("owner@acme.example")
    server = serve(handler)
    config = _config(tmp_path, server.port, store)

    result = CliRunner().invoke(main, ["email", "--config", str(config)])

    assert result.exit_code == 1
    assert "owner@acme.example" in result.output and "FAILED" in result.output
    assert "550" in result.output
    assert [r.rcpt_tos for r in handler.received] == [("ops@agency.example", "lead@agency.example")]


def test_save_writes_the_emails_instead_of_sending(tmp_path, store):
    config = _config(tmp_path, 9, store)  # nothing listens on port 9
    out = tmp_path / "outbox"

    result = CliRunner().invoke(main, ["email", "--config", str(config), "--save", str(out)])

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["001-acme.eml", "002-agency.eml"]
    assert result.output.splitlines() == [
        f"wrote {out / '001-acme.eml'}",
        f"wrote {out / '002-agency.eml'}",
    ]


def test_a_save_folder_that_cannot_be_made_is_named(tmp_path, store):
    config = _config(tmp_path, 9, store)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = blocker / "outbox" / "today"  # under a file: cannot be created

    result = CliRunner().invoke(main, ["email", "--config", str(config), "--save", str(out)])

    assert result.exit_code == 2
    assert f"--save {out}: cannot create" in result.output


def test_plan_digest_or_report_by_number_of_accounts(tmp_path, store):
    config = load_config(_config(tmp_path, 25, store))
    engine = open_store(store)
    mailings = plan(engine, config)
    assert [(m.recipient, m.kind, m.language, len(m.account_ids)) for m in mailings] == [
        ("acme", "account", "es", 1),
        ("agency", "digest", "en", 8),
    ]
    assert mailings[0].timezone == "Europe/Berlin"  # the account's own, as imported


def test_a_seller_with_a_schedule_gets_their_report_then_and_not_after_each_check(
    serve, tmp_path, store
):
    handler = Recorder()
    path = _config(tmp_path, serve(handler).port, store)
    path.write_text(
        path.read_text().replace('locale = "es"\n', 'locale = "es"\nschedule = "0 7 * * 1"\n')
    )
    config = load_config(path)
    engine = open_store(store)
    assert wanted_jobs(config)[0].id == "digest:acme"

    assert deliver_account_report(engine, config, "acme-de") == []  # their schedule says when
    [delivery] = deliver_digest(engine, config, "acme")
    assert delivery.ok and delivery.to == ("owner@acme.example",)
    [received] = handler.received
    assert received.parsed()["Subject"] == (
        "[Incumplimiento] Salud de la cuenta: ACME Werkzeug GmbH"
    )
    engine.dispose()


def test_an_address_the_mail_would_refuse_is_refused_in_the_configuration(tmp_path):
    from seller_health.config import ConfigError

    path = tmp_path / "seller-health.toml"
    path.write_text(
        '[recipients.x]\nemail = "Jane <jane@example.com>, bob@example.com"\naccounts = ["*"]\n'
    )
    with pytest.raises(ConfigError, match="recipients.x.email"):
        load_config(path)
