"""Usage plans and the token bucket that enforces them.

SP-API throttles per selling-partner/application pair and per operation with a token bucket:
tokens refill at ``rate`` per second up to ``burst``; a call with no token gets 429
``QuotaExceeded``. The plans below are the documented defaults from the models' operation
descriptions. ``rate_scale`` multiplies rate and burst alike so a benchmark can run the same code
paths in seconds; ``x-amzn-RateLimit-Limit`` reports the scaled rate, as a connector tuning its
pace from the header would see on a seller with a raised plan.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second
    burst: float


USAGE_PLANS: dict[str, UsagePlan] = {
    "searchOrders": UsagePlan(0.0056, 20),  # orders_2026-01-01.json
    "getOrder": UsagePlan(0.5, 30),  # orders_2026-01-01.json (v2026 getOrder)
    "getOrders": UsagePlan(0.0167, 20),  # ordersV0.json
    "createReport": UsagePlan(0.0167, 15),  # reports_2021-06-30.json
    "getReport": UsagePlan(2.0, 15),
    "cancelReport": UsagePlan(0.0222, 10),
    "getReportDocument": UsagePlan(0.0167, 15),
}

QUOTA_MESSAGE = "You exceeded your quota for the requested resource."


def header_value(rate: float) -> str:
    """The header's number: ``0.0056``, ``2.0``; scaled rates lose float noise (0.56, not ...99)."""
    return repr(round(float(rate), 6))


class RateLimiter:
    """Token buckets keyed by (refresh token, operation), read against the simulator's clock."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, datetime]] = {}

    def plan(self, operation: str) -> UsagePlan:
        base = USAGE_PLANS[operation]
        return UsagePlan(base.rate * self.scale, max(1.0, base.burst * self.scale))

    def acquire(self, account: str, operation: str, now: datetime) -> float:
        """Take a token; return 0 on success, else the seconds until one will be available."""
        plan = self.plan(operation)
        key = (account, operation)
        with self._lock:
            tokens, last = self._buckets.get(key, (plan.burst, now))
            elapsed = max(0.0, (now - last).total_seconds())
            tokens = min(plan.burst, tokens + elapsed * plan.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / plan.rate
