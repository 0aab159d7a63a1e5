"""The Amazon connector against the bundled simulator: real HTTP, real rate limits, ground truth.

The simulator and the connector share no code: each follows the official models on its own, so
a mismatch here is a mistake in one of them.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from seller_health.connectors.amazon import AmazonConnector, AmazonCredentials, amazon_limiter
from seller_health.connectors.http import Caller, RetryPolicy, make_client
from seller_health.ingest.sync import bookmark, sync_reports, sync_stream
from seller_health.simulator.config import FaultConfig, SellerAccount, SimulatorConfig
from seller_health.simulator.server import run_in_thread
from seller_health.store.db import open_store
from seller_health.store.models import Order, Quarantined, SyncBookmark

TOKEN = "Atzr|sim-acme"
SCALE = 500.0


@pytest.fixture
def simulator(request):
    faults = getattr(request, "param", FaultConfig())
    account = SellerAccount(refresh_token=TOKEN, order_count=400, in_trouble=True)
    config = SimulatorConfig(seed=3, accounts=[account], rate_scale=SCALE, faults=faults)
    base_url, stop = run_in_thread(config)
    yield base_url, stop.simulator, config
    stop()


def connector(
    base_url: str, config: SimulatorConfig, version: str = "2026-01-01"
) -> AmazonConnector:
    caller = Caller(
        make_client(timeout=5),
        amazon_limiter(scale=SCALE),
        RetryPolicy(initial_wait=0.05, max_wait=0.5),
    )
    credentials = AmazonCredentials(config.client_id, config.client_secret, TOKEN)
    return AmazonConnector(
        "acme-us",
        credentials,
        ["ATVPDKIKX0DER"],
        api_url=base_url,
        lwa_url=f"{base_url}/auth/o2/token",
        caller=caller,
        orders_version=version,
    )


def synced(engine) -> dict[str, tuple]:
    table = Order.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(table)).all()
    return {r.order_id: r for r in rows}


def test_orders_match_the_simulators_ground_truth(simulator):
    base_url, sim, config = simulator
    engine = open_store("sqlite://")
    now = sim.config.now()
    summary = sync_stream(engine, connector(base_url, config), "orders", now=now)
    truth = {o.order_id: o for o in sim.orders_for(TOKEN)}
    rows = synced(engine)
    assert set(rows) == set(truth) and summary.quarantined == 0
    for order_id, row in rows.items():
        want = truth[order_id]
        assert (row.purchased_at, row.fulfillment, row.ship_by) == (
            want.purchased_at,
            want.fulfillment,
            want.ship_by,
        ), order_id
        if want.fulfillment == "merchant":
            assert row.shipped_at == want.shipped_at and row.tracking_id == want.tracking_id, (
                order_id
            )
        assert row.cancelled_by == want.cancelled_by, order_id
        # the API reports proceeds only once an order is neither pending nor cancelled
        paid = want.status not in ("pending", "cancelled")
        assert row.total == (want.total if paid else None), order_id


def test_v0_orders_match_too(simulator):
    base_url, sim, config = simulator
    engine = open_store("sqlite://")
    sync_stream(engine, connector(base_url, config, "v0"), "orders", now=sim.config.now())
    assert set(synced(engine)) == {o.order_id for o in sim.orders_for(TOKEN)}


def _stop_after(pages: int):
    asked = iter(range(pages, 0, -1))
    return lambda: next(asked, 0) == 1


@pytest.mark.parametrize("version", ["2026-01-01", "v0"])
def test_a_stopped_sync_goes_on_from_its_last_stored_page(simulator, version):
    base_url, sim, config = simulator
    engine = open_store("sqlite://")
    now = sim.config.now()
    amazon = connector(base_url, config, version)
    first = sync_stream(engine, amazon, "orders", now=now, should_stop=_stop_after(2))
    assert first.interrupted and first.stored == 200
    kept = bookmark(engine, "acme-us", "orders")
    assert kept.cursor is None and set(kept.pending["resume"]) == {
        "after",
        "before",
        "token",
        "saved_at",
    }
    operation = "searchOrders" if version != "v0" else "getOrders"
    calls_before = len(sim.calls(operation))

    second = sync_stream(engine, amazon, "orders", now=now, lookback=timedelta(0))

    truth = {o.order_id for o in sim.orders_for(TOKEN)}
    assert set(synced(engine)) == truth and second.updated == 0  # nothing read twice
    assert second.stored == len(truth) - 200 and not second.notes
    assert len(sim.calls(operation)) - calls_before == 2  # only the two pages left
    done = bookmark(engine, "acme-us", "orders")
    assert done.cursor is not None and "resume" not in done.pending


def _edit_kept_token(engine, **changes) -> None:
    table = SyncBookmark.__table__
    with engine.begin() as conn:
        pending = conn.execute(select(table.c.pending)).scalar_one()
        conn.execute(table.update().values(pending={"resume": pending["resume"] | changes}))


def test_an_expired_page_token_reads_the_interval_again(simulator):
    base_url, sim, config = simulator
    engine = open_store("sqlite://")
    now = sim.config.now()
    amazon = connector(base_url, config)
    sync_stream(engine, amazon, "orders", now=now, should_stop=_stop_after(1))
    _edit_kept_token(engine, saved_at="2026-01-01T00:00:00Z")  # older than a token lives

    again = sync_stream(engine, amazon, "orders", now=now)

    assert again.updated == 100 and set(synced(engine)) == {
        o.order_id for o in sim.orders_for(TOKEN)
    }
    assert again.notes == ["the page token kept at 2026-01-01T00:00:00Z has expired"]


def test_a_refused_page_token_reads_the_interval_again(simulator):
    base_url, sim, config = simulator
    engine = open_store("sqlite://")
    now = sim.config.now()
    amazon = connector(base_url, config)
    sync_stream(engine, amazon, "orders", now=now, should_stop=_stop_after(1))
    _edit_kept_token(engine, token="not-a-token")

    again = sync_stream(engine, amazon, "orders", now=now, lookback=timedelta(0))

    assert again.updated == 100 and set(synced(engine)) == {
        o.order_id for o in sim.orders_for(TOKEN)
    }
    (note,) = again.notes
    assert note.startswith(
        "the kept page token was refused (searchOrders failed for acme-us: HTTP 400"
    )


@pytest.mark.parametrize(
    "simulator",
    [FaultConfig(throttle=0.05, server_error=0.03, unavailable=0.03, malformed=0.02)],
    indirect=True,
)
def test_faults_and_malformed_records(simulator):
    base_url, sim, config = simulator
    engine = open_store("sqlite://")
    summary = sync_stream(engine, connector(base_url, config), "orders", now=sim.config.now())
    truth = sim.orders_for(TOKEN)
    broken = {o.order_id for o in truth if o.malformed}
    assert broken and summary.quarantined == len(broken)
    assert set(synced(engine)) == {o.order_id for o in truth} - broken
    with engine.connect() as conn:
        keys = set(conn.execute(select(Quarantined.__table__.c.record_key)).scalars())
    assert keys <= broken | {k for k in keys if k.startswith("position-")}


def test_reports_from_the_simulator(simulator):
    base_url, sim, config = simulator
    engine = open_store("sqlite://")
    amazon = connector(base_url, config)
    summaries = sync_reports(engine, amazon, now=sim.config.now(), sleep=lambda s: None, polls=10)
    assert summaries[0].stored >= 5, summaries[0].notes
    now = sim.config.now()
    assert now - timedelta(days=1) < now  # the clock is the simulator's


def test_rules_reading_fields_the_api_never_reports_say_so(simulator):
    from seller_health.engine.evaluate import evaluate
    from seller_health.engine.rules import builtin_pack

    base_url, sim, config = simulator
    engine = open_store("sqlite://")
    sync_stream(engine, connector(base_url, config), "orders", now=sim.config.now())
    results = {
        r.rule: r
        for r in evaluate(engine, [builtin_pack("amazon")], sim.config.now()).accounts[0].results
    }
    otd = results["amazon.on_time_delivery_rate"]
    assert otd.status == "insufficient_data" and otd.value is None and otd.denominator > 0
    assert "does not report delivered_at" in otd.message
    assert results["amazon.late_shipment_rate"].status in (
        "ok",
        "warn",
        "breach",
    )  # shipTime is reported
