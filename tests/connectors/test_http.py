"""Shared connector machinery: token buckets, retries honouring Retry-After, pagination guard."""

import httpx
import pytest
import respx

from seller_health.connectors.http import (
    Caller,
    RateLimiter,
    RepeatedPage,
    RetryPolicy,
    TokenBucket,
    UsagePlan,
    paginate,
    retry_after_seconds,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_bucket_allows_a_burst_then_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=0.5, burst=3, clock=clock, sleep=clock.sleep)
    assert [bucket.take() for _ in range(3)] == [0, 0, 0]
    assert bucket.take() == pytest.approx(2.0)  # one token every 2 s
    assert clock.now == pytest.approx(2.0)


def test_bucket_adopts_the_servers_rate_and_empties_on_throttle():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=5, clock=clock, sleep=clock.sleep)
    bucket.correct(0.25)
    bucket.empty()
    assert bucket.take() == pytest.approx(4.0)


def caller(clock, attempts=5):
    limiter = RateLimiter({"op": UsagePlan(rate=10, burst=10)}, clock=clock, sleep=clock.sleep)
    policy = RetryPolicy(attempts=attempts, initial_wait=1, max_wait=8, sleep=clock.sleep)
    return Caller(httpx.Client(base_url="https://api.test"), limiter, policy)


@respx.mock
def test_retries_429_and_5xx_then_succeeds_honouring_retry_after():
    clock = FakeClock()
    route = respx.get("https://api.test/x").mock(
        side_effect=[
            httpx.Response(429, headers={"retry-after": "7"}, json={"errors": []}),
            httpx.Response(503),
            httpx.Response(200, headers={"x-amzn-RateLimit-Limit": "2.0"}, json={"ok": True}),
        ]
    )
    c = caller(clock)
    response = c.call("acct", "op", lambda client: client.get("/x"))
    assert response.json() == {"ok": True} and route.call_count == 3
    assert 7 in clock.sleeps  # Retry-After honoured
    assert (c.stats.requests, c.stats.throttled, c.stats.retried) == (3, 1, 2)
    assert c.limiter.bucket("acct", "op").rate == 2.0


@respx.mock
def test_timeouts_are_retried_and_give_up_after_the_attempts():
    clock = FakeClock()
    respx.get("https://api.test/slow").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(httpx.ReadTimeout):
        caller(clock, attempts=3).call("acct", "op", lambda client: client.get("/slow"))


@respx.mock
def test_client_errors_are_not_retried():
    clock = FakeClock()
    route = respx.get("https://api.test/bad").mock(return_value=httpx.Response(400, json={}))
    assert caller(clock).call("a", "op", lambda client: client.get("/bad")).status_code == 400
    assert route.call_count == 1


@respx.mock
def test_auth_failure_refreshes_once():
    clock = FakeClock()
    respx.get("https://api.test/me").mock(
        side_effect=[httpx.Response(403), httpx.Response(403), httpx.Response(200)]
    )
    refreshes = []
    response = caller(clock).call(
        "a",
        "op",
        lambda client: client.get("/me"),
        on_auth_failure=lambda r: refreshes.append(r) or True,
    )
    assert response.status_code == 403 and len(refreshes) == 1  # a second 403 is final


def test_retry_after_as_date_or_seconds():
    assert retry_after_seconds(httpx.Response(429, headers={"retry-after": "3"})) == 3
    assert retry_after_seconds(httpx.Response(429, headers={"retry-after": "soon"})) is None
    old = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert retry_after_seconds(httpx.Response(429, headers={"retry-after": old})) == 0


def test_paginate_follows_tokens_and_refuses_a_repeated_one():
    pages = {None: ([1, 2], "a"), "a": ([3], "b"), "b": ([4], None)}
    assert list(paginate(lambda token: pages[token])) == [1, 2, 3, 4]
    looping = {None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")}
    with pytest.raises(RepeatedPage):
        list(paginate(lambda token: looping[token]))
