"""Token-bucket rate limits keyed by (scope, key), e.g. ("subject", sub), ("issuer", name).

Invariants:
- Pure: ``now`` (monotonic seconds) is passed in; a clock going backwards refills nothing.
- A bucket holds at most ``burst`` tokens and refills at ``rate_per_s``; a request costs 1.
- :meth:`RateLimiter.acquire` over several keys is all-or-nothing: a request refused by the
  subject limit does not spend the issuer's tokens.
- Memory is bounded: at most ``max_keys`` buckets. A bucket that has refilled to full carries
  no state (it equals a fresh one) and is dropped first; past that the least recently used
  bucket is dropped. Dropping a partly drained bucket forgives that key, so the cap must
  exceed the number of keys active within one refill period; an attacker spraying keys is
  still held by the per-issuer scope, whose keys are few and fixed.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from broker.errors import RateLimited

__all__ = ["BucketSpec", "Decision", "RateLimited", "RateLimiter"]


@dataclass(frozen=True)
class BucketSpec:
    rate_per_s: float
    burst: float

    def __post_init__(self) -> None:
        if not (self.rate_per_s > 0 and math.isfinite(self.rate_per_s)):
            raise ValueError("rate_per_s must be a positive number")
        if not (self.burst >= 1 and math.isfinite(self.burst)):
            raise ValueError("burst must be at least 1")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0  # 0 when allowed
    scope: str | None = None  # the scope that refused


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, specs: Mapping[str, BucketSpec], *, max_keys: int = 10_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self._specs = dict(specs)
        self._max_keys = max_keys
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes that have a limit (a scope configured ``off`` has none)."""
        return frozenset(self._specs)

    def check(self, scope: str, key: str, now: float) -> Decision:
        return self.acquire([(scope, key)], now)

    def acquire(self, keys: Sequence[tuple[str, str]], now: float) -> Decision:
        """Spend one token from every (scope, key) bucket, or none if any is empty."""
        levels = [(scope_key, self._level(scope_key, now)) for scope_key in keys]
        refused = [
            (self._wait(scope_key[0], tokens), scope_key[0])
            for scope_key, tokens in levels
            if tokens < 1.0
        ]
        if refused:
            # A refused key stays "recently used": otherwise a client hammering its empty
            # bucket would drift to the LRU end, be evicted, and be forgiven.
            for scope_key, _ in levels:
                if scope_key in self._buckets:
                    self._buckets.move_to_end(scope_key)
            wait, scope = max(refused)
            return Decision(False, wait, scope)
        for scope_key, tokens in levels:
            self._store(scope_key, tokens - 1.0, now)
        return Decision(True)

    def _level(self, scope_key: tuple[str, str], now: float) -> float:
        spec = self._spec(scope_key[0])
        bucket = self._buckets.get(scope_key)
        if bucket is None:
            return spec.burst
        elapsed = max(0.0, now - bucket.at)
        return min(spec.burst, bucket.tokens + elapsed * spec.rate_per_s)

    def _wait(self, scope: str, tokens: float) -> float:
        return (1.0 - tokens) / self._spec(scope).rate_per_s

    def _spec(self, scope: str) -> BucketSpec:
        try:
            return self._specs[scope]
        except KeyError:
            raise ValueError(f"no rate limit configured for scope {scope!r}") from None

    def _store(self, scope_key: tuple[str, str], tokens: float, now: float) -> None:
        bucket = self._buckets.get(scope_key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._evict(now)
            self._buckets[scope_key] = _Bucket(tokens, now)
        else:
            bucket.tokens, bucket.at = tokens, max(now, bucket.at)
            self._buckets.move_to_end(scope_key)

    def _evict(self, now: float) -> None:
        """Drop refilled buckets from the LRU end, then the LRU bucket itself if still full.

        O(1) amortised: each bucket is dropped at most once, and refilled buckets gather at
        the LRU end because they are the ones not touched for longest.
        """
        while self._buckets:
            scope_key = next(iter(self._buckets))
            if self._level(scope_key, now) < self._spec(scope_key[0]).burst:
                break
            del self._buckets[scope_key]
        if len(self._buckets) >= self._max_keys:
            self._buckets.popitem(last=False)
