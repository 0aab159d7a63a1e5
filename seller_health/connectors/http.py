"""HTTP machinery every connector shares: client, retries, rate limits, pagination.

One token bucket per (account, operation), seeded from the marketplace's documented usage plan
and corrected from what the server says (``x-amzn-RateLimit-Limit``): retries then wait for the
bucket like any other request instead of hammering a throttled API.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from seller_health.version import __version__

USER_AGENT = f"seller-health/{__version__} (Language=Python)"
RETRYABLE_STATUSES = {429, 500, 502, 503, 504}
T = TypeVar("T")


def make_client(base_url: str = "", *, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=10.0),
        headers={"user-agent": USER_AGENT},
    )


class RetryableResponse(Exception):
    """A throttled or failed response worth trying again."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code} from {response.request.url.path}")
        self.response = response


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableResponse | httpx.TimeoutException | httpx.TransportError)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds, whether given as a number or an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _Wait:
    """Exponential backoff with jitter, or the server's ``Retry-After`` when it sends one."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.backoff = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableResponse):
            after = retry_after_seconds(exc.response)
            if after is not None:
                return after
        return self.backoff(state)


@dataclass
class RetryPolicy:
    attempts: int = 8
    initial_wait: float = 0.5
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception(_retryable),
            wait=_Wait(self.initial_wait, self.max_wait),
            stop=stop_after_attempt(self.attempts),
            sleep=self.sleep,
            reraise=True,
        )


@dataclass
class TokenBucket:
    """``rate`` tokens a second up to ``burst``; :meth:`take` waits for one."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    tokens: float = field(init=False)
    stamp: float = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.stamp = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self) -> float:
        """Take a token, sleeping until there is one; returns the seconds waited."""
        waited = 0.0
        while True:
            with self.lock:
                self._refill()
                if self.tokens >= 1:
                    self.tokens -= 1
                    return waited
                pause = (1 - self.tokens) / self.rate
            self.sleep(pause)
            waited += pause

    def empty(self) -> None:
        """The server throttled us: whatever we believed, there is no token left."""
        with self.lock:
            self._refill()
            self.tokens = min(self.tokens, 0.0)

    def correct(self, rate: float) -> None:
        """Adopt the rate the server reports for this account and operation."""
        if rate > 0:
            with self.lock:
                self._refill()
                self.rate = rate


@dataclass(frozen=True)
class UsagePlan:
    rate: float
    burst: float


class RateLimiter:
    """Token buckets keyed by (account, operation), created from usage plans on first use."""

    def __init__(
        self,
        plans: dict[str, UsagePlan],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.plans, self.clock, self.sleep = plans, clock, sleep
        self.buckets: dict[tuple[str, str], TokenBucket] = {}
        self.lock = threading.Lock()

    def bucket(self, account: str, operation: str) -> TokenBucket:
        with self.lock:
            key = (account, operation)
            if key not in self.buckets:
                plan = self.plans[operation]
                self.buckets[key] = TokenBucket(plan.rate, plan.burst, self.clock, self.sleep)
            return self.buckets[key]


@dataclass
class Stats:
    requests: int = 0
    throttled: int = 0
    retried: int = 0
    waited_seconds: float = 0.0
    by_status: dict[int, int] = field(default_factory=dict)


class Caller:
    """Sends requests under a rate limit with retries, and counts what happened."""

    def __init__(
        self,
        client: httpx.Client,
        limiter: RateLimiter,
        policy: RetryPolicy | None = None,
        *,
        rate_header: str = "x-amzn-ratelimit-limit",
    ) -> None:
        self.client, self.limiter = client, limiter
        self.policy = policy or RetryPolicy(sleep=limiter.sleep)
        self.rate_header = rate_header
        self.stats = Stats()

    def call(
        self,
        account: str,
        operation: str,
        send: Callable[[httpx.Client], httpx.Response],
        *,
        on_auth_failure: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """``send`` under the bucket of (account, operation), retried on 429, 5xx and timeouts.

        ``on_auth_failure`` is asked about a 401/403; returning True (credentials refreshed)
        sends again once.
        """
        bucket = self.limiter.bucket(account, operation)
        refreshed = False
        for attempt in self.policy.retrying():
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    self.stats.retried += 1
                self.stats.waited_seconds += bucket.take()
                self.stats.requests += 1
                response = send(self.client)
                status = response.status_code
                self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
                if status == 429:
                    self.stats.throttled += 1
                    bucket.empty()
                if status in RETRYABLE_STATUSES:
                    raise RetryableResponse(response)
                if status in (401, 403) and on_auth_failure and not refreshed:
                    refreshed = True
                    if on_auth_failure(response):
                        raise RetryableResponse(response)
                limit = response.headers.get(self.rate_header)
                if limit:
                    with contextlib.suppress(ValueError):
                        bucket.correct(float(limit))
                return response
        raise AssertionError("unreachable")  # pragma: no cover


class RepeatedPage(RuntimeError):
    """The server handed back a page token it had already given: stop rather than loop."""


def paginate(
    fetch: Callable[[str | None], tuple[list[T], str | None]], token: str | None = None
) -> Iterator[T]:
    """Yield items page by page, following next-tokens (from ``token`` if given), refusing a
    token seen before."""
    seen: set[str] = set()
    while True:
        items, token = fetch(token)
        yield from items
        if not token:
            return
        if token in seen:
            raise RepeatedPage(f"page token repeated after {len(seen)} pages")
        seen.add(token)


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
