"""The seeded histories: realistic, internally consistent, reproducible."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from seller_health.simulator import SellerAccount, SimulatorConfig
from seller_health.simulator.app import Simulator
from tests.simulator.conftest import HEALTHY, T0, TROUBLED, Clock, make_config

STATUSES = {"pending", "unshipped", "shipped", "delivered", "cancelled"}


def _sim(**overrides) -> Simulator:
    return Simulator(make_config(Clock(), **overrides))


def test_thirteen_months_of_mixed_orders():
    sim = _sim()
    for account in (HEALTHY, TROUBLED):
        orders = sim.orders_for(account)
        assert len(orders) == 450
        span = orders[-1].purchased_at - orders[0].purchased_at
        assert timedelta(days=380) < span <= timedelta(days=395)
        assert orders[-1].purchased_at <= sim.data_end == T0 - timedelta(minutes=5)
        assert Counter(o.fulfillment for o in orders).keys() == {"merchant", "marketplace"}
        assert {"delivered", "cancelled"} <= {o.status for o in orders} <= STATUSES
        assert len({o.order_id for o in orders}) == len(orders)
        assert len({o.buyer_id for o in orders}) < len(orders)  # repeat buyers exist


def test_orders_are_internally_consistent():
    sim = _sim()
    for account in (HEALTHY, TROUBLED):
        for o in sim.orders_for(account):
            assert o.purchased_at <= o.last_updated_at <= sim.data_end
            assert o.earliest_ship <= o.ship_by < o.deliver_by
            assert o.total == sum(i.unit_price * i.quantity for i in o.items) + o.shipping_charge
            if o.status == "cancelled":
                assert o.cancelled_at and o.cancelled_by in {"buyer", "seller", "marketplace"}
                assert o.shipped_at is None
            if o.status in ("shipped", "delivered"):
                assert o.shipped_at and o.shipped_at >= o.purchased_at
            if o.delivered_at is not None:
                assert o.status == "delivered" and o.delivered_at > o.shipped_at
            if o.is_mfn and o.shipped_at:
                assert o.tracking_valid is not None and o.carrier
                if o.tracking_valid:
                    assert o.tracking_id
            if not o.is_mfn:
                assert o.cancelled_by in (None, "buyer")
                assert o.tracking_valid is None
        for event in sim.events_for(account):
            assert event.occurred_at <= sim.data_end
            if event.kind == "feedback":
                assert 1 <= event.rating <= 5


def test_troubled_accounts_are_noticeably_worse():
    sim = _sim()

    def rates(account):
        orders = sim.orders_for(account)
        mfn = [o for o in orders if o.is_mfn and o.shipped_at]
        late = sum(o.shipped_at > o.ship_by for o in mfn) / len(mfn)
        invalid = sum(not o.tracking_valid for o in mfn) / len(mfn)
        cancels = sum(o.cancelled_by == "seller" for o in orders) / len(orders)
        defects = sum(e.is_defect for e in sim.events_for(account)) / len(orders)
        return late, invalid, cancels, defects

    healthy, troubled = rates(HEALTHY), rates(TROUBLED)
    for good, bad in zip(healthy, troubled, strict=True):
        assert bad > 2 * good


def test_same_config_same_data_and_seed_changes_it():
    one, two, other = _sim(), _sim(), _sim(seed=8)
    assert one.orders_for(HEALTHY) == two.orders_for(HEALTHY)
    assert one.events_for(TROUBLED) == two.events_for(TROUBLED)
    assert one.orders_for(HEALTHY) != other.orders_for(HEALTHY)


def test_data_end_pins_the_history_and_currencies_follow_marketplaces():
    end = datetime(2026, 3, 1, tzinfo=UTC)
    config = SimulatorConfig(
        accounts=[SellerAccount("Atzr|jp", "A1VC38T7YXB528", order_count=60)], data_end=end
    )
    sim = Simulator(config)
    orders = sim.orders_for("Atzr|jp")
    assert sim.data_end == end
    assert all(o.currency == "JPY" and o.total == o.total.to_integral_value() for o in orders)
    assert all(o.order_id[:3] in {"249", "250", "503"} for o in orders)
