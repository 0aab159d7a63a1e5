"""Alerts on change: mailed once per change to a real SMTP server on loopback, with an explicit
``now``, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError

from seller_health.config import Config
from seller_health.engine.evaluate import evaluate
from seller_health.engine.wording import localizer
from seller_health.notify import alerts as alerts_module
from seller_health.notify.alerts import AlertOutcome, process_alerts
from seller_health.store.history import save_run
from seller_health.store.models import AlertNotice, Order, SyncBookmark
from seller_health.store.writes import upsert
from tests.factory import Seller, T, ago
from tests.notify.smtp import Recorder, free_port
from tests.notify.test_mailer import RefuseRecipients

ACCOUNT, NAME = "acme-de", "ACME Werkzeug GmbH"
OWNER, AGENCY = "owner@acme.example", "ops@agency.example"
ORDERS = Order.__table__
RULE = """
pack: mine
applies_to: all
rules:
  - id: mine.late
    title: Late shipments
    of: orders
    metric: rate
    window: {days: 30, by: purchased_at}
    bad: {compare: "shipped_at > ship_by"}
    warn: ">= 0.1"
    breach: ">= 0.2"
    items: orders
"""
H = timedelta(hours=1)

Serve = Callable[..., Controller]


@pytest.fixture
def shop(engine: Engine) -> Engine:
    """Ten orders, all shipped on time; :func:`late` makes some of them late."""
    seller = Seller(ACCOUNT, "ebay", name=NAME)
    for i in range(10):
        seller.order(f"o{i}", ago(days=5), ship_by=ago(days=4), shipped_at=ago(days=4, hours=1))
    seller.save(engine)
    return engine


def late(engine: Engine, n: int) -> None:
    """The first ``n`` orders shipped a day after their deadline: 1 is At risk, 2 a Breach."""
    with engine.begin() as conn:
        for i in range(10):
            conn.execute(
                update(ORDERS)
                .where(ORDERS.c.account_id == ACCOUNT, ORDERS.c.order_id == f"o{i}")
                .values(shipped_at=ago(days=3) if i < n else ago(days=4, hours=1))
            )


def config(
    tmp_path: Path,
    port: int | None,
    *,
    hold: str | None = None,
    recipients: dict[str, Any] | None = None,
    alerts: dict[str, Any] | None = None,
) -> Config:
    rules = tmp_path / f"mine-{hold or 'now'}.yaml"
    rules.write_text(RULE + (f"    for: {hold}\n" if hold else ""), encoding="utf-8")
    data: dict[str, Any] = {
        "accounts": {ACCOUNT: {"marketplace": "ebay", "rules": [str(rules)]}},
        "recipients": recipients
        if recipients is not None
        else {"owner": {"email": OWNER, "accounts": [ACCOUNT], "locale": "en"}},
        "alerts": alerts or {},
    }
    if port is not None:
        data["smtp"] = {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "sender": "Seller Health <alerts@agency.example>",
            "attempts": 1,
        }
    return Config.model_validate(data)


def check(engine: Engine, cfg: Config, now: datetime) -> None:
    save_run(engine, evaluate(engine, cfg.account_packs(ACCOUNT), now, [ACCOUNT]))


def step(engine: Engine, cfg: Config, now: datetime, *, checked: bool = True) -> AlertOutcome:
    """What the scheduler does for the account at ``now``: check it, then process alerts."""
    if checked:
        check(engine, cfg, now)
    return process_alerts(engine, cfg, [ACCOUNT], now)


def subjects(handler: Recorder) -> list[str]:
    return [str(r.parsed()["Subject"]) for r in handler.received]


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_payload()
    return text.get_content(), html.get_content()


def test_each_change_of_status_is_mailed_once(shop: Engine, serve: Serve, tmp_path: Path) -> None:
    handler = Recorder()
    cfg = config(tmp_path, serve(handler).port)

    first = step(shop, cfg, T)
    assert first.decisions == [] and handler.received == []  # first sight is no change

    late(shop, 1)
    warned = step(shop, cfg, T + H)
    assert [(d.before, d.after, d.rules, d.action) for d in warned.decisions] == [
        ("ok", "warn", ("mine.late",), "sent")
    ]
    assert subjects(handler) == [f"[At risk] {NAME}: OK → At risk"]
    text, html = parts(handler.received[0].parsed())
    assert "Late shipments: OK -> At risk" in text
    assert "Late shipments: 10.00% (Breach ≥ 20.00%; At risk ≥ 10.00%)" in text  # value, limits
    assert "1 more failure → Breach; 1 failure fewer → OK." in text  # the report's sentence
    assert "The oldest failure leaves the window on November 26, 2026" in text  # roll-off
    assert "10.00% and steady: recovers to OK on November 4" in text  # the check's forecast
    assert 'id="rule-mine.late"' in html and "Status: OK → At risk" in html
    assert handler.received[0].rcpt_tos == (OWNER,)

    assert step(shop, cfg, T + 2 * H, checked=False).decisions == []  # the same state again
    assert step(shop, cfg, T + 3 * H).decisions == []  # checked again, still At risk
    assert len(handler.received) == 1

    late(shop, 2)
    step(shop, cfg, T + 4 * H)
    late(shop, 0)
    step(shop, cfg, T + 5 * H)
    step(shop, cfg, T + 6 * H)
    assert subjects(handler) == [
        f"[At risk] {NAME}: OK → At risk",
        f"[Breach] {NAME}: At risk → Breach",
        f"[OK] {NAME}: Breach → OK",
    ]
    recovered, _ = parts(handler.received[2].parsed())
    assert "Late shipments: Breach -> OK" in recovered


def test_not_enough_data_is_not_an_alert(shop: Engine, serve: Serve, tmp_path: Path) -> None:
    handler = Recorder()
    cfg = config(tmp_path, serve(handler).port)
    step(shop, cfg, T)
    quiet = step(shop, cfg, T + timedelta(days=30))  # every order has left the window
    assert quiet.decisions == [] and handler.received == []


def test_a_rule_with_for_alerts_once_the_change_has_held(
    shop: Engine, serve: Serve, tmp_path: Path
) -> None:
    handler = Recorder()
    cfg = config(tmp_path, serve(handler).port, hold="6h")
    step(shop, cfg, T - H)

    late(shop, 1)
    seen = step(shop, cfg, T)
    assert seen.decisions == [] and [p[:3] for p in seen.pending] == [
        (ACCOUNT, "mine.late", "warn")
    ]
    assert step(shop, cfg, T + H).decisions == []
    assert step(shop, cfg, T + 6 * H - timedelta(seconds=1), checked=False).decisions == []
    assert handler.received == []
    held = step(shop, cfg, T + 6 * H)
    assert [d.action for d in held.decisions] == ["sent"]
    assert subjects(handler) == [f"[At risk] {NAME}: OK → At risk"]

    # A flap to Breach and back within 6 h: nothing to say, ever.
    late(shop, 2)
    step(shop, cfg, T + 7 * H)
    late(shop, 1)
    step(shop, cfg, T + 10 * H)
    assert step(shop, cfg, T + 20 * H).decisions == []
    assert len(handler.received) == 1


def test_a_rule_going_back_and_forth_between_warn_and_breach_still_alerts(
    shop: Engine, serve: Serve, tmp_path: Path
) -> None:
    """Thresholds nest: "At risk or worse" held all along, so At risk is told after 6 h, and
    Breach once Breach itself has held 6 h."""
    handler = Recorder()
    cfg = config(tmp_path, serve(handler).port, hold="6h")
    step(shop, cfg, T - H)
    for hour, n in [(0, 1), (2, 2), (4, 1), (5, 2)]:
        late(shop, n)
        step(shop, cfg, T + hour * H)
    assert handler.received == []
    assert [d.after for d in step(shop, cfg, T + 6 * H).decisions] == ["warn"]
    assert step(shop, cfg, T + 10 * H).decisions == []
    assert [d.after for d in step(shop, cfg, T + 11 * H).decisions] == ["breach"]
    assert subjects(handler) == [
        f"[At risk] {NAME}: OK → At risk",
        f"[Breach] {NAME}: At risk → Breach",
    ]


def test_a_flap_back_before_for_sends_nothing(shop: Engine, serve: Serve, tmp_path: Path) -> None:
    handler = Recorder()
    cfg = config(tmp_path, serve(handler).port, hold="6h")
    step(shop, cfg, T)
    late(shop, 1)
    step(shop, cfg, T + H)
    late(shop, 0)
    step(shop, cfg, T + 5 * H)
    assert step(shop, cfg, T + 30 * H).decisions == []
    assert handler.received == []


@pytest.mark.parametrize("trouble", ["down", "refusing"])
def test_a_failed_send_is_not_marked_and_is_sent_next_time(
    shop: Engine, serve: Serve, tmp_path: Path, trouble: str
) -> None:
    if trouble == "down":
        broken = config(tmp_path, free_port())  # nothing listens there
    else:
        broken = config(tmp_path, serve(RefuseRecipients(OWNER)).port)
    step(shop, broken, T)
    late(shop, 1)
    failed = step(shop, broken, T + H)
    assert [(d.action, d.after) for d in failed.decisions] == [("failed", "warn")]
    assert failed.decisions[0].error and not failed.deliveries[0].ok

    handler = Recorder()
    working = config(tmp_path, serve(handler).port)
    retried = step(shop, working, T + 2 * H, checked=False)
    assert [(d.action, d.before, d.after) for d in retried.decisions] == [("sent", "ok", "warn")]
    assert step(shop, working, T + 3 * H).decisions == []
    assert subjects(handler) == [f"[At risk] {NAME}: OK → At risk"]


def test_a_refused_recipient_never_makes_the_others_get_it_twice(
    shop: Engine, serve: Serve, tmp_path: Path
) -> None:
    both = {
        "owner": {"email": OWNER, "accounts": [ACCOUNT]},
        "agency": {"email": AGENCY, "accounts": ["*"]},
    }
    refusing = RefuseRecipients(OWNER)
    cfg = config(tmp_path, serve(refusing).port, recipients=both)
    step(shop, cfg, T)
    late(shop, 2)
    first = step(shop, cfg, T + H)
    assert sorted((d.recipient, d.action) for d in first.decisions) == [
        ("agency", "sent"),
        ("owner", "failed"),
    ]
    assert [r.rcpt_tos for r in refusing.received] == [(AGENCY,)]

    handler = Recorder()
    cfg = config(tmp_path, serve(handler).port, recipients=both)
    second = step(shop, cfg, T + 2 * H)
    assert [(d.recipient, d.action) for d in second.decisions] == [("owner", "sent")]
    assert [r.rcpt_tos for r in handler.received] == [(OWNER,)]
    assert step(shop, cfg, T + 3 * H).decisions == []


def notices(engine: Engine) -> list[tuple[str, str | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(AlertNotice.__table__)).all()
    return sorted((n.recipient, n.status, n.outcome) for n in rows)


def test_an_alert_whose_recording_failed_is_never_sent_twice(
    shop: Engine, serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox: the notice is committed as ``sending`` before the mail leaves; a run that
    could not record the outcome leaves it so, and the next run counts it as told."""
    handler = Recorder()
    cfg = config(tmp_path, serve(handler).port)
    step(shop, cfg, T)
    late(shop, 1)
    real_send, real_record = alerts_module.send, alerts_module._record_notices
    in_flight: list[list[tuple[str, str | None, str]]] = []

    def send(*args: Any, **kwargs: Any) -> Any:
        in_flight.append(notices(shop))
        return real_send(*args, **kwargs)

    def database_gone(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("UPDATE alert_notices", {}, Exception("database is locked"))

    monkeypatch.setattr(alerts_module, "send", send)
    monkeypatch.setattr(alerts_module, "_record_notices", database_gone)
    with pytest.raises(OperationalError):
        step(shop, cfg, T + H)
    assert in_flight == [[("owner", "warn", "sending")]]
    assert subjects(handler) == [f"[At risk] {NAME}: OK → At risk"]

    monkeypatch.setattr(alerts_module, "_record_notices", real_record)
    again = step(shop, cfg, T + 2 * H)
    assert [(d.recipient, d.after, d.action) for d in again.decisions] == [
        ("owner", "warn", "uncertain")
    ]
    assert again.uncertain == again.decisions and "not sent again" in (
        again.uncertain[0].error or ""
    )
    assert len(handler.received) == 1 and notices(shop) == [("owner", "warn", "uncertain")]
    assert step(shop, cfg, T + 3 * H).decisions == []  # reported once

    late(shop, 2)  # the next change is told as usual, from what the uncertain mail said
    assert [(d.before, d.after, d.action) for d in step(shop, cfg, T + 4 * H).decisions] == [
        ("warn", "breach", "sent")
    ]
    assert notices(shop) == [("owner", "breach", "sent")]


def test_an_alert_refused_by_some_addresses_is_told_but_reported(
    shop: Engine, serve: Serve, tmp_path: Path
) -> None:
    lead = "lead@acme.example"
    handler = RefuseRecipients(lead)
    owner = {"owner": {"email": [OWNER, lead], "accounts": [ACCOUNT], "locale": "en"}}
    cfg = config(tmp_path, serve(handler).port, recipients=owner)
    step(shop, cfg, T)
    late(shop, 1)
    out = step(shop, cfg, T + H)
    assert [(d.action, d.after) for d in out.decisions] == [("partial", "warn")]
    assert out.partial == out.decisions and out.sent == [] and out.failed == []
    error = out.partial[0].error or ""
    assert f"delivered to {OWNER} only" in error and lead in error
    assert [r.rcpt_tos for r in handler.received] == [(OWNER,)]
    assert notices(shop) == [("owner", "warn", "partial")]
    assert step(shop, cfg, T + 2 * H).decisions == []  # not sent again to the owner


def fail_source(engine: Engine, finding: str | None, at: datetime) -> None:
    pending = {"finding": finding} if finding else {}
    with engine.begin() as conn:
        upsert(
            conn,
            SyncBookmark.__table__,
            [
                {
                    "account_id": ACCOUNT,
                    "stream": "orders",
                    "cursor": None,
                    "pending": pending,
                    "updated_at": at,
                }
            ],
        )


def test_a_failing_source_alerts_after_the_configured_time_and_on_recovery(
    shop: Engine, serve: Serve, tmp_path: Path
) -> None:
    handler = Recorder()
    cfg = config(tmp_path, serve(handler).port, alerts={"source_failure_after": "6h"})
    finding = "needs re-authorisation: invalid_grant"
    fail_source(shop, finding, T)
    step(shop, cfg, T)
    early = step(shop, cfg, T + H)
    assert early.decisions == [] and (ACCOUNT, "source:orders", "failing", T) in early.pending
    assert handler.received == []

    failing = step(shop, cfg, T + 7 * H)
    assert [(d.failing, d.recovered, d.action) for d in failing.decisions] == [
        (("orders",), (), "sent")
    ]
    assert step(shop, cfg, T + 8 * H).decisions == []
    assert subjects(handler) == [f"[OK] {NAME}: 1 data source is failing"]
    text, html = parts(handler.received[0].parsed())
    since = localizer("en").datetime(T)  # Babel's English, with its narrow no-break space
    assert f"Sync of orders has been failing since {since} (7 hours): {finding}" in text
    assert finding in html

    fail_source(shop, None, T + 9 * H)
    recovered = step(shop, cfg, T + 9 * H)
    assert [(d.failing, d.recovered) for d in recovered.decisions] == [((), ("orders",))]
    assert step(shop, cfg, T + 10 * H).decisions == []
    assert subjects(handler)[1:] == [f"[OK] {NAME}: data sources work again"]
    text, _ = parts(handler.received[1].parsed())
    assert f"Sync of orders works again (it had failed: {finding})." in text


def test_a_source_of_an_account_never_checked_still_alerts(
    shop: Engine, serve: Serve, tmp_path: Path
) -> None:
    """The first sync of a revoked grant fails before any check could run."""
    handler = Recorder()
    cfg = config(tmp_path, serve(handler).port, alerts={"source_failure_after": "30m"})
    fail_source(shop, "needs re-authorisation: invalid_grant", T)
    step(shop, cfg, T, checked=False)
    assert [d.action for d in step(shop, cfg, T + H, checked=False).decisions] == ["sent"]
    assert subjects(handler) == [f"[Not enough data] {NAME}: 1 data source is failing"]


def test_each_recipient_reads_the_alert_in_their_language(
    shop: Engine, serve: Serve, tmp_path: Path
) -> None:
    handler = Recorder()
    readers = {
        "owner": {"email": OWNER, "accounts": [ACCOUNT], "locale": "es"},
        "agency": {"email": AGENCY, "accounts": ["*"], "locale": "en"},
    }
    cfg = config(tmp_path, serve(handler).port, recipients=readers)
    step(shop, cfg, T)
    late(shop, 2)
    step(shop, cfg, T + H)

    by_reader = {r.rcpt_tos: r.parsed() for r in handler.received}
    assert set(by_reader) == {(OWNER,), (AGENCY,)}
    assert by_reader[AGENCY,]["Subject"] == f"[Breach] {NAME}: OK → Breach"
    es = localizer("es")
    spanish = str(by_reader[OWNER,]["Subject"])  # the words follow the es catalog, if it has them
    breach, ok = es.gettext("Breach"), es.gettext("OK")
    assert f"[{breach}]" in spanish and NAME in spanish and ok in spanish
    assert spanish.count(breach) == 2  # the new status, in brackets and after the change
    _, html = parts(by_reader[OWNER,])
    assert '<html lang="es">' in html


@pytest.mark.parametrize("why", ["no_smtp", "no_recipient", "disabled"])
def test_nobody_to_tell_is_recorded_and_nothing_is_sent(
    shop: Engine, serve: Serve, tmp_path: Path, why: str
) -> None:
    handler = Recorder()
    port = serve(handler).port
    mute = config(
        tmp_path,
        None if why == "no_smtp" else port,
        recipients={} if why == "no_recipient" else None,
        alerts={"enabled": False} if why == "disabled" else None,
    )
    step(shop, mute, T)
    late(shop, 1)
    decided = step(shop, mute, T + H)
    assert [(d.action, d.before, d.after) for d in decided.decisions] == [(why, "ok", "warn")]
    assert decided.deliveries == [] and handler.received == []
    with shop.connect() as conn:
        recorded = conn.execute(select(AlertNotice.__table__)).all()
    assert [(n.status, n.outcome) for n in recorded] == [("warn", why)]

    # Once there is someone to tell, old news is not sent; the next change is.
    loud = config(tmp_path, port)
    assert step(shop, loud, T + 2 * H).decisions == []
    late(shop, 0)
    step(shop, loud, T + 3 * H)
    assert subjects(handler) == [f"[OK] {NAME}: At risk → OK"]


def test_now_must_carry_a_time_zone(shop: Engine, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        process_alerts(shop, config(tmp_path, None), [ACCOUNT], T.replace(tzinfo=None))


def test_shop_names_are_escaped_and_kept_on_one_line(
    engine: Engine, serve: Serve, tmp_path: Path
) -> None:
    name = "<b>Tom & Jerry</b>\nBcc: victim@example.com"
    seller = Seller(ACCOUNT, "ebay", name=name)
    for i in range(10):
        seller.order(f"o{i}", ago(days=5), ship_by=ago(days=4), shipped_at=ago(days=4, hours=1))
    seller.save(engine)
    handler = Recorder()
    cfg = config(tmp_path, serve(handler).port)
    step(engine, cfg, T)
    late(engine, 2)
    step(engine, cfg, T + H)
    message = handler.received[0].parsed()
    assert message["Subject"] == "[Breach] <b>Tom & Jerry</b> Bcc: victim@example.com: OK → Breach"
    assert message["Bcc"] is None and handler.received[0].rcpt_tos == (OWNER,)
    _, html = parts(message)
    assert "<b>Tom" not in html and "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in html
