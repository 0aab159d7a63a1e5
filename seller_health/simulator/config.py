"""Configuration of the marketplace simulator.

Everything that makes one run differ from another is here, so a test can pin it: the seed (data
and faults), the accounts, the clock, the quota scale and the faults. Two simulators built from
equal configs (with a fixed ``data_end`` or clock) hold the same orders and inject the same faults
on the same sequence of calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from seller_health.simulator.marketplaces import REGIONS, marketplace

#: Final states a report can be forced into, per report type (see ``SimulatorConfig``).
REPORT_OUTCOMES = ("DONE", "FATAL", "CANCELLED")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SellerAccount:
    """One seller that authorised the application.

    ``refresh_token`` is the identity: the LWA endpoint trades it for access tokens, and every
    quota bucket and every order belongs to it. ``in_trouble`` switches the seeded rates (late
    shipments, cancellations, invalid tracking, defects) from those of a healthy seller to those
    of one whose account health is at risk.
    """

    refresh_token: str
    marketplace_id: str = "ATVPDKIKX0DER"
    region: str | None = None
    order_count: int = 500
    in_trouble: bool = False
    name: str | None = None
    #: A revoked authorisation: the LWA endpoint answers ``invalid_grant`` from the start.
    revoked: bool = False
    #: strftime pattern of the ``Date`` column of GET_SELLER_FEEDBACK_DATA; None picks the
    #: region's default (the exact format is not documented, see ``reports.py``).
    feedback_date_format: str | None = None

    def __post_init__(self) -> None:
        market = marketplace(self.marketplace_id)
        if self.region is None:
            object.__setattr__(self, "region", market.region)
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}, not {self.region!r}")
        if self.region != market.region:
            raise ValueError(
                f"marketplace {self.marketplace_id} is served by region {market.region}, "
                f"not {self.region}"
            )
        if self.order_count < 0:
            raise ValueError("order_count must be >= 0")


@dataclass(frozen=True)
class FaultConfig:
    """Probabilities of misbehaviour, all drawn from the seed so a failure can be replayed.

    Per-request faults are decided by the n-th call of an operation for an account, so the same
    sequence of calls meets the same faults whatever the wall clock does. ``operations`` limits
    them to some operation names (``searchOrders``, ``getReport``...); None means all SP-API
    operations; the LWA endpoint (operation ``lwaToken``) only when ``include_auth`` is set, and
    then only with 500/503 as an OAuth ``server_error``. Document downloads never fail.
    """

    throttle: float = 0.0  # 429 QuotaExceeded although the bucket had tokens
    server_error: float = 0.0  # 500 InternalFailure
    unavailable: float = 0.0  # 503 ServiceUnavailable
    slow: float = 0.0  # answer only after ``slow_seconds``, to trip client timeouts
    slow_seconds: float = 5.0
    malformed: float = 0.0  # share of orders rendered with a missing required field or bad date
    report_fatal: float = 0.0  # share of reports that end FATAL (with an error document)
    report_cancelled: float = 0.0  # share of reports that end CANCELLED
    operations: frozenset[str] | None = None
    include_auth: bool = False

    def __post_init__(self) -> None:
        for name in ("throttle", "server_error", "unavailable", "slow", "malformed"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"faults.{name} must be a probability, not {value}")
        if self.throttle + self.server_error + self.unavailable > 1.0:
            raise ValueError("throttle + server_error + unavailable must not exceed 1")
        if self.report_fatal + self.report_cancelled > 1.0:
            raise ValueError("report_fatal + report_cancelled must not exceed 1")


@dataclass(frozen=True)
class ReportTiming:
    """How long a report stays in each processing state.

    A state is left once it has been polled (``getReport``) at least ``polls_*`` times *and* has
    lasted ``seconds_*`` on the simulator's clock, so tests can drive it by polls alone (clock
    fixed) and benchmarks by time alone (polls 0).
    """

    polls_in_queue: int = 1
    polls_in_progress: int = 1
    seconds_in_queue: float = 0.0
    seconds_in_progress: float = 0.0


def _default_accounts() -> list[SellerAccount]:
    return [
        SellerAccount("Atzr|sim-healthy-us", "ATVPDKIKX0DER", order_count=1500, name="Healthy US"),
        SellerAccount(
            "Atzr|sim-trouble-de",
            "A1PA6795UKMFR9",
            order_count=1500,
            in_trouble=True,
            name="Troubled DE",
        ),
    ]


@dataclass
class SimulatorConfig:
    """Everything ``create_app`` needs.

    ``now`` is the simulator's clock: token expiry, quota refill, the two-minute rule of the
    Orders API, report progress and pre-signed URL expiry all read it, so a test can freeze or
    step time. ``data_end`` anchors the seeded history (default: five minutes before ``now()`` at
    creation, so the two-minute rule never hides a seeded order). ``rate_scale`` multiplies every
    documented usage-plan rate and burst, to make benchmarks finish. ``report_outcomes`` forces the
    final state of a report type (``{"GET_SELLER_FEEDBACK_DATA": "FATAL"}``).
    """

    seed: int = 0
    accounts: Sequence[SellerAccount] = field(default_factory=_default_accounts)
    client_id: str = "amzn1.application-oa2-client.simulator"
    client_secret: str = "simulator-client-secret"
    token_lifetime: int = 3600
    rate_scale: float = 1.0
    now: Callable[[], datetime] = utc_now
    faults: FaultConfig = field(default_factory=FaultConfig)
    report_timing: ReportTiming = field(default_factory=ReportTiming)
    report_outcomes: Mapping[str, str] = field(default_factory=dict)
    send_retry_after: bool = False
    data_end: datetime | None = None
    history_days: int = 395

    def __post_init__(self) -> None:
        tokens = [a.refresh_token for a in self.accounts]
        if len(set(tokens)) != len(tokens):
            raise ValueError("every account needs its own refresh_token")
        if self.token_lifetime <= 0:
            raise ValueError("token_lifetime must be positive")
        if self.rate_scale <= 0:
            raise ValueError("rate_scale must be positive")
        for report_type, outcome in self.report_outcomes.items():
            if outcome not in REPORT_OUTCOMES:
                raise ValueError(
                    f"report_outcomes[{report_type!r}] must be one of {REPORT_OUTCOMES}"
                )
        if self.data_end is not None and self.data_end.tzinfo is None:
            raise ValueError("data_end must be timezone-aware")

    def clock(self) -> datetime:
        """``now()`` checked to be aware and in UTC: every comparison in the simulator needs it."""
        moment = self.now()
        if moment.tzinfo is None:
            raise ValueError("SimulatorConfig.now must return timezone-aware datetimes")
        return moment.astimezone(UTC)
