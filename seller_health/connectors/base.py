"""What every connector hands to the store: canonical records, or quarantined raw ones."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol


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


class Connector(Protocol):
    """A marketplace source. Streams are pulled for a half-open interval of update times."""

    account_id: str
    settle: timedelta  # how long before now the source accepts an interval's end
    unknown_fields: frozenset[str]  # order fields the source never reports

    def orders(
        self, updated_after: datetime, updated_before: datetime, resume: str | None = None
    ) -> Iterator[Fetched]:
        """Pages of orders updated in [after, before); from the page ``resume`` names if given
        (a ``Fetched.resume`` of the same interval), raising :class:`StaleResume` if refused."""
        ...
