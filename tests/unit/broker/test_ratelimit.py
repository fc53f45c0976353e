"""Token-bucket limits with a fake clock: refill, retry-after, atomicity, bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.ratelimit import BucketSpec, Decision, RateLimited, RateLimiter

SPECS = {"subject": BucketSpec(rate_per_s=2.0, burst=3), "issuer": BucketSpec(1.0, 5)}


def test_burst_then_refusal_with_retry_after() -> None:
    """A key gets `burst` requests at once, then is told how long to wait."""
    limiter = RateLimiter(SPECS)
    assert [limiter.check("subject", "a", 100.0).allowed for _ in range(3)] == [True] * 3
    refused = limiter.check("subject", "a", 100.0)
    assert refused == Decision(False, 0.5, "subject")


def test_refill_over_time() -> None:
    """Tokens come back at `rate_per_s`, never beyond `burst`."""
    limiter = RateLimiter(SPECS)
    for _ in range(3):
        limiter.check("subject", "a", 0.0)
    assert not limiter.check("subject", "a", 0.4).allowed
    assert limiter.check("subject", "a", 0.5).allowed
    # a long idle period refills only up to burst
    results = [limiter.check("subject", "a", 1000.0).allowed for _ in range(4)]
    assert results == [True, True, True, False]


def test_keys_and_scopes_are_independent() -> None:
    """One subject exhausting its bucket does not affect another subject."""
    limiter = RateLimiter(SPECS)
    for _ in range(3):
        limiter.check("subject", "a", 0.0)
    assert not limiter.check("subject", "a", 0.0).allowed
    assert limiter.check("subject", "b", 0.0).allowed
    assert limiter.check("issuer", "a", 0.0).allowed


def test_acquire_is_all_or_nothing() -> None:
    """A request refused by one scope spends no token from the other."""
    limiter = RateLimiter(SPECS)
    for _ in range(3):
        assert limiter.acquire([("subject", "a"), ("issuer", "k8s")], 0.0).allowed
    refused = limiter.acquire([("subject", "a"), ("issuer", "k8s")], 0.0)
    assert (refused.allowed, refused.scope) == (False, "subject")
    # the issuer still has exactly 2 of its 5 tokens
    assert [limiter.check("issuer", "k8s", 0.0).allowed for _ in range(3)] == [True, True, False]


def test_retry_after_is_the_longest_wait() -> None:
    """When several scopes refuse, the caller waits for the slowest one."""
    limiter = RateLimiter({"subject": BucketSpec(10.0, 1), "issuer": BucketSpec(0.25, 1)})
    limiter.acquire([("subject", "a"), ("issuer", "i")], 0.0)
    refused = limiter.acquire([("subject", "a"), ("issuer", "i")], 0.0)
    assert (refused.scope, refused.retry_after_s) == ("issuer", 4.0)


def test_clock_going_backwards_refills_nothing() -> None:
    """A monotonic clock glitch cannot mint tokens."""
    limiter = RateLimiter({"s": BucketSpec(1.0, 1)})
    assert limiter.check("s", "a", 50.0).allowed
    assert not limiter.check("s", "a", 10.0).allowed
    assert not limiter.check("s", "a", 50.5).allowed
    assert limiter.check("s", "a", 51.0).allowed


def test_memory_is_bounded() -> None:
    """No more than `max_keys` buckets are kept, however many keys are seen."""
    limiter = RateLimiter({"s": BucketSpec(1.0, 2)}, max_keys=100)
    for i in range(5_000):
        limiter.check("s", f"k{i}", float(i) * 0.001)
    assert len(limiter) == 100


def test_eviction_keeps_recently_drained_buckets() -> None:
    """At the cap, refilled and least recently used buckets go; a drained hot key stays held."""
    limiter = RateLimiter({"s": BucketSpec(1.0, 2)}, max_keys=3)
    limiter.check("s", "idle", 0.0)
    for _ in range(2):
        limiter.check("s", "hot", 9.5)
    limiter.check("s", "other", 9.9)
    limiter.check("s", "new", 10.0)  # "idle" refilled long ago: it goes, "hot" stays
    assert len(limiter) == 3
    assert not limiter.check("s", "hot", 10.0).allowed
    limiter.check("s", "newer", 10.0)  # nothing refilled: the LRU ("other") is dropped
    assert len(limiter) == 3
    assert not limiter.check("s", "hot", 10.0).allowed


def test_unknown_scope_and_bad_specs() -> None:
    """A scope without configuration and a nonsensical spec are programming errors."""
    with pytest.raises(ValueError):
        RateLimiter(SPECS).check("pod", "a", 0.0)
    for rate, burst in [(0.0, 1), (-1.0, 1), (1.0, 0.5), (float("inf"), 1)]:
        with pytest.raises(ValueError):
            BucketSpec(rate, burst)


@pytest.mark.parametrize(("wait", "header"), [(0.01, 1), (0.5, 1), (1.0, 1), (1.2, 2), (30.0, 30)])
def test_rate_limited_error_carries_retry_after(wait: float, header: int) -> None:
    """The 429 error rounds the wait up to whole seconds for `Retry-After`."""
    exc = RateLimited("subject", wait)
    assert (exc.code, exc.status, exc.retry_after) == ("rate_limited", 429, header)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.floats(min_value=0, max_value=2)),
        max_size=200,
    )
)
def test_never_more_than_burst_plus_refill(steps: list[tuple[str, float]]) -> None:
    """Whatever the traffic, a key is allowed at most burst + rate * elapsed requests."""
    spec = BucketSpec(rate_per_s=2.0, burst=3)
    limiter = RateLimiter({"s": spec}, max_keys=10)
    now, allowed = 0.0, {"a": 0, "b": 0, "c": 0}
    for key, dt in steps:
        now += dt
        decision = limiter.check("s", key, now)
        allowed[key] += decision.allowed
        assert decision.allowed == (decision.retry_after_s == 0.0)
        assert allowed[key] <= spec.burst + spec.rate_per_s * now + 1e-9
