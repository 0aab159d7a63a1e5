"""Healthy sellers are healthy and troubled ones in trouble on every day, not by the seed's luck.

Windows and targets are Amazon's (research notes §6): ODR < 1% over 60 days of orders, late
shipment < 4% over 10 and 30 days by ship-by date, seller cancellations < 2.5% over 7 days,
valid tracking > 95% over 30 days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seller_health.simulator import SellerAccount
from seller_health.simulator.app import Simulator
from tests.simulator.conftest import Clock, make_config

SMALL = SellerAccount("Atzr|small-healthy", "A1PA6795UKMFR9", order_count=400)
TROUBLE = SellerAccount("Atzr|small-trouble", order_count=500, in_trouble=True)
DAYS = [datetime(2026, 11, 20, 12, tzinfo=UTC) + timedelta(days=17 * n) for n in range(6)]


def _shares(sim: Simulator, token: str) -> dict[str, tuple[int, int]]:
    """(bad, total) per metric over windows ending at ``data_end``."""
    end = sim.data_end
    orders = [o for o in sim.orders_for(token) if o.is_mfn]
    defective = {e.order_id for e in sim.events_for(token) if e.is_defect}

    def since(days: int, moment: datetime | None) -> bool:
        return moment is not None and end - timedelta(days=days) <= moment <= end

    odr = [o for o in orders if since(60, o.purchased_at)]
    due = [o for o in orders if o.cancelled_at is None and since(30, o.ship_by)]
    due10 = [o for o in due if since(10, o.ship_by)]
    cancels = [o for o in orders if since(7, o.purchased_at)]
    shipped = [o for o in orders if since(30, o.shipped_at)]

    def late(group: list) -> int:
        return sum(o.shipped_at is None or o.shipped_at > o.ship_by for o in group)

    return {
        "odr": (sum(o.order_id in defective for o in odr), len(odr)),
        "late30": (late(due), len(due)),
        "late10": (late(due10), len(due10)),
        "cancel": (sum(o.cancelled_by in ("seller", "marketplace") for o in cancels), len(cancels)),
        "tracking": (sum(not o.tracking_valid for o in shipped), len(shipped)),
    }


TARGETS = {"odr": 0.01, "late30": 0.04, "late10": 0.04, "cancel": 0.025, "tracking": 0.05}


@pytest.mark.parametrize("end", DAYS, ids=lambda d: d.date().isoformat())
def test_a_small_healthy_seller_stays_well_inside_every_target(end):
    sim = Simulator(make_config(Clock(end), accounts=[SMALL], data_end=end))
    for metric, (bad, total) in _shares(sim, SMALL.refresh_token).items():
        assert bad <= total * TARGETS[metric] / 2, metric


@pytest.mark.parametrize("end", DAYS, ids=lambda d: d.date().isoformat())
def test_a_troubled_seller_breaches_shipping_tracking_and_defects(end):
    sim = Simulator(make_config(Clock(end), accounts=[TROUBLE], data_end=end))
    shares = _shares(sim, TROUBLE.refresh_token)
    for metric in ("odr", "late30", "tracking"):
        bad, total = shares[metric]
        assert total and bad / total >= TARGETS[metric] * 1.5, metric
