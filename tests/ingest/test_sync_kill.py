"""A sync killed with SIGKILL halfway, then resumed from its last stored page: every order
stored exactly once, no gap."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from sqlalchemy import func, select

from seller_health.ingest.sync import bookmark, sync_stream
from seller_health.simulator.config import SellerAccount, SimulatorConfig
from seller_health.simulator.server import run_in_thread
from seller_health.store.db import open_store
from seller_health.store.models import Order
from tests.ingest.test_sync_simulator import TOKEN, connector

SCALE = 3000.0  # searchOrders at ~17 requests/s: 10 orders a page makes the sync last seconds

CHILD = textwrap.dedent(
    """
    import sys
    from seller_health.connectors.amazon import AmazonConnector, AmazonCredentials, amazon_limiter
    from seller_health.connectors.http import Caller, make_client
    from seller_health.store.db import open_store
    from seller_health.ingest.sync import sync_stream

    base_url, db, client_id, secret, token, scale = sys.argv[1:7]
    caller = Caller(make_client(), amazon_limiter(scale=float(scale)))
    amazon = AmazonConnector(
        "acme-us", AmazonCredentials(client_id, secret, token), ["ATVPDKIKX0DER"],
        api_url=base_url, lwa_url=base_url + "/auth/o2/token", caller=caller, page_size=10,
    )
    sync_stream(open_store(db), amazon, "orders")
    """
)


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Order.__table__)).scalar_one()


def test_killed_sync_resumes_without_gap_or_duplicate(tmp_path):
    config = SimulatorConfig(
        seed=5, accounts=[SellerAccount(refresh_token=TOKEN, order_count=600)], rate_scale=SCALE
    )
    base_url, stop = run_in_thread(config)
    try:
        db = str(tmp_path / "store.db")
        engine = open_store(db)
        truth = {o.order_id for o in stop.simulator.orders_for(TOKEN)}
        args = [base_url, db, config.client_id, config.client_secret, TOKEN, str(SCALE)]
        child = subprocess.Popen([sys.executable, "-c", CHILD, *args])
        deadline = time.monotonic() + 60
        while count(engine) < len(truth) // 4 and time.monotonic() < deadline:
            assert child.poll() is None, "the sync finished before it could be killed"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        stored_when_killed = count(engine)
        assert 0 < stored_when_killed < len(truth)
        kept = bookmark(engine, "acme-us", "orders")
        assert kept.cursor is None  # the interval was not finished: the cursor did not move
        assert kept.pending["resume"]["token"]  # but the last stored page left its token

        summary = sync_stream(engine, connector(base_url, config), "orders")
        with engine.connect() as conn:
            ids = conn.execute(select(Order.__table__.c.order_id)).scalars().all()
        assert len(ids) == len(set(ids)) == len(truth) and set(ids) == truth
        # It went on from the last stored page: only what was missing is new, and what it read
        # again is the look-back before the killed run's start, not the pages stored before.
        assert summary.stored == len(truth) - stored_when_killed
        assert summary.updated < stored_when_killed
    finally:
        stop()
