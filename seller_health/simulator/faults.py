"""Reproducible fault injection.

A connector's retry logic is only testable if a failure can be replayed. So a fault is not drawn
from a shared RNG (whose state would depend on thread timing) but from one named by the seed,
the account, the operation and the call's ordinal for that pair: the 7th ``searchOrders`` of an
account fails the same way on every run with the same seed, whatever else ran in between.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from seller_health.simulator.config import FaultConfig
from seller_health.simulator.limits import QUOTA_MESSAGE
from seller_health.simulator.responses import ApiError

LWA_OPERATION = "lwaToken"


@dataclass(frozen=True)
class Fault:
    """What to do to one call: an error to answer instead, and/or a delay before answering."""

    error: ApiError | None
    delay: float


class FaultInjector:
    def __init__(self, seed: int, faults: FaultConfig) -> None:
        self._seed = seed
        self._faults = faults
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()

    def applies_to(self, operation: str) -> bool:
        if operation == LWA_OPERATION and not self._faults.include_auth:
            return False
        return self._faults.operations is None or operation in self._faults.operations

    def decide(self, account: str, operation: str) -> Fault:
        """Draw the fault of this call (and count it), per ``FaultConfig`` probabilities."""
        faults = self._faults
        if not self.applies_to(operation):
            return Fault(None, 0.0)
        with self._lock:
            self._calls[(account, operation)] += 1
            ordinal = self._calls[(account, operation)]
        rng = random.Random(f"{self._seed}:fault:{account}:{operation}:{ordinal}")
        draw, slow_draw = rng.random(), rng.random()
        error = None
        if draw < faults.throttle:
            error = ApiError(429, "QuotaExceeded", QUOTA_MESSAGE, "")
        elif draw < faults.throttle + faults.server_error:
            error = ApiError(
                500, "InternalFailure", "We encountered an internal error. Please try again.", ""
            )
        elif draw < faults.throttle + faults.server_error + faults.unavailable:
            error = ApiError(
                503, "ServiceUnavailable", "Service temporarily unavailable. Please try again.", ""
            )
        delay = faults.slow_seconds if slow_draw < faults.slow else 0.0
        return Fault(error, delay)
