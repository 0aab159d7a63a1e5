"""What every connector hands to the store: canonical records, or quarantined raw ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol


class ApiError(RuntimeError):
    """A marketplace API's error answer; names the operation and the marketplace's error codes,
    nothing secret."""


class NeedsReauthorisation(Exception):
    """The seller revoked access or the grant expired: a finding for the account, not a crash."""


class StaleResume(Exception):
    """The source refused the page token a sync had kept (expired, or unknown to it): the
    interval must be read again from its start."""


class Malformed(ValueError):
    """A record the source sent that cannot be read; the reason names the field."""


@dataclass(frozen=True)
class Rejected:
    """A record kept raw for the quarantine, with why it was refused."""

    key: str
    reason: str
    raw: dict[str, Any]


@dataclass
class Fetched:
    """One page of a stream: good records (import-format fields) and rejected ones, and the
    source's token for the page after it (``None`` on the last page), which a sync keeps so
    that an interrupted interval goes on where it stopped."""

    records: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    resume: str | None = None


PagedStream = Literal["orders", "messages", "events"]


@dataclass(frozen=True)
class Report:
    """A stream the marketplace hands over as a document on request (Amazon's reports): asked
    for, polled until ready, then parsed. A sync keeps the request's id between runs, so polling
    resumes instead of asking again (requests are scarce)."""

    kind: str  # the marketplace's name for it, kept as the figures' ``source``
    stream: str  # the sync bookmark's name
    holds: Literal["events", "official"]  # defects, or the marketplace's own figures
    span: timedelta | None = None  # the window asked for, ending now; None: the marketplace's


@dataclass
class ReportOutcome:
    report_id: str
    status: str  # DONE | FATAL | CANCELLED | IN_QUEUE | IN_PROGRESS (still waiting)
    document: bytes | None = None


class CallStats(Protocol):
    requests: int
    throttled: int
    retried: int


class Connector(Protocol):
    """One seller account at a marketplace, as a set of streams. Paged streams (``streams``,
    each a method of that name) are pulled for a half-open interval of update times; reports
    (``reports``) are requested and polled. Records are in the import format's fields."""

    marketplace: str
    account_id: str
    settle: timedelta  # how long before now the source accepts an interval's end
    unknown_fields: frozenset[str]  # order fields the source never reports
    streams: tuple[PagedStream, ...]  # "orders" first: the others may refer to orders
    reports: tuple[Report, ...]

    @property
    def stats(self) -> CallStats: ...

    def orders(
        self, updated_after: datetime, updated_before: datetime, resume: str | None = None
    ) -> Iterator[Fetched]:
        """Pages of orders updated in [after, before); from the page ``resume`` names if given
        (a ``Fetched.resume`` of the same interval), raising :class:`StaleResume` if refused."""
        ...

    def request_report(self, report: Report, start: datetime | None, end: datetime | None) -> str:
        """Ask for ``report`` over [start, end) (None: the marketplace's own window); its id."""
        ...

    def poll_report(
        self, report_id: str, *, polls: int, sleep: Callable[[float], None]
    ) -> ReportOutcome:
        """Wait for the report (at most ``polls`` asks); its document once DONE."""
        ...

    def parse_report(self, report: Report, document: bytes) -> Fetched:
        """The records of a DONE report's document, and those that cannot be read."""
        ...
