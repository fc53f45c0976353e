"""The broker's Prometheus metrics, on a registry the app owns (never the global default).

Invariants:
- Every label value comes from a small fixed set known at start-up: issuer is a configured
  issuer *name*, reasons are error codes, operations and causes are enumerated here. A value
  outside its set is recorded as ``other`` (issuer: ``unknown``), so a subject, pod name or
  token can never become a label and the series count stays bounded.
- Nothing here does I/O; :func:`exposition` renders the text for an HTTP handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

RESULTS = frozenset({"allowed", "denied", "error"})
# Error codes an exchange can end with (broker.errors and this issue's additions).
REASONS = frozenset(
    {
        "ok",
        "missing_token", "invalid_token", "invalid_signature", "unknown_key",
        "disallowed_algorithm", "expired_token", "token_not_yet_valid", "audience_mismatch",
        "unknown_issuer", "invalid_claims", "token_too_large", "replayed_token",
        "no_matching_rule", "unsafe_claim_value", "missing_claim", "too_many_sessions",
        "rate_limited", "vault_unavailable", "vault_rejected", "issuer_unavailable",
        "bad_request", "internal_error",
    }
)  # fmt: skip
OPERATIONS = frozenset(
    {
        "create_token", "revoke_accessor", "renew_token", "lookup_token", "write_policy",
        "delete_policy", "health", "lookup_accessor", "list_accessors",
    }
)  # fmt: skip
CAUSES = frozenset({"session_end", "expired", "reaper", "shutdown", "admin", "error"})
JWKS_RESULTS = frozenset({"ok", "not_modified", "error"})
OTHER, UNKNOWN_ISSUER = "other", "unknown"
MAX_ISSUERS = 64
_LABEL_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,64}")

# Exchanges are dominated by one OpenBao round trip (a few ms on loopback): fine buckets low.
EXCHANGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _pick(value: str, allowed: frozenset[str], fallback: str = OTHER) -> str:
    return value if value in allowed else fallback


class BrokerMetrics:
    """All broker metrics; construct once per app with the configured issuer names."""

    def __init__(
        self,
        registry: CollectorRegistry,
        issuers: Iterable[str],
        *,
        reasons: Iterable[str] = (),
    ) -> None:
        self.registry = registry
        self.issuers = frozenset(issuers)
        bad = [n for n in self.issuers if not _LABEL_VALUE.fullmatch(n)]
        if bad or len(self.issuers) > MAX_ISSUERS:
            raise ValueError(
                f"issuer names must be at most {MAX_ISSUERS} names of [A-Za-z0-9_.-]{{1,64}}"
            )
        self.reasons = REASONS | frozenset(reasons)
        self._children: dict[tuple[str, ...], Any] = {}  # label values -> series
        self.exchanges = Counter(
            "sluice_exchanges_total",
            "Identity-token exchanges, by configured issuer, result and reason code.",
            ["issuer", "result", "reason"],
            registry=registry,
        )
        self.exchange_duration = Histogram(
            "sluice_exchange_duration_seconds",
            "Time to answer a session request, verification to response.",
            buckets=EXCHANGE_BUCKETS,
            registry=registry,
        )
        self.vault_duration = Histogram(
            "sluice_vault_request_duration_seconds",
            "Time of the broker's requests to OpenBao, by operation.",
            ["operation"],
            buckets=EXCHANGE_BUCKETS,
            registry=registry,
        )
        self.sessions_active = Gauge(
            "sluice_sessions_active", "Sessions open now.", registry=registry
        )
        self.revocations = Counter(
            "sluice_revocations_total",
            "OpenBao tokens revoked by the broker, by cause.",
            ["cause"],
            registry=registry,
        )
        self.jwks_refreshes = Counter(
            "sluice_jwks_refreshes_total",
            "Fetches of an issuer's discovery document and key set, by result.",
            ["issuer", "result"],
            registry=registry,
        )

    def issuer_label(self, name: str) -> str:
        return _pick(name, self.issuers, UNKNOWN_ISSUER)

    def exchange(self, issuer: str, result: str, reason: str, duration_s: float) -> None:
        key = (self.issuer_label(issuer), _pick(result, RESULTS), _pick(reason, self.reasons))
        child = self._children.get(key)
        if child is None:
            # labels() validates and locks on every call (~2% of an exchange): look each
            # series up once. The key is made of picked values, so the dict stays bounded.
            child = self._children[key] = self.exchanges.labels(*key)
        child.inc()
        self.exchange_duration.observe(duration_s)

    def vault_request(self, operation: str, duration_s: float) -> None:
        key = ("vault", _pick(operation, OPERATIONS))
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.vault_duration.labels(key[1])
        child.observe(duration_s)

    def revocation(self, cause: str) -> None:
        self.revocations.labels(cause=_pick(cause, CAUSES)).inc()

    def jwks_refresh(self, issuer: str, result: str) -> None:
        self.jwks_refreshes.labels(
            issuer=self.issuer_label(issuer), result=_pick(result, JWKS_RESULTS)
        ).inc()


def exposition(registry: CollectorRegistry, accept: str | None = None) -> tuple[bytes, str]:
    """Body and Content-Type for ``GET /metrics``, negotiated on the scraper's Accept header.

    aiohttp: ``web.Response(body=body, headers={"Content-Type": content_type})`` (the value
    carries parameters, which ``content_type=`` would refuse).
    """
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
