"""Typed keys of the broker's ``web.Application`` state."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiohttp import web

from broker.audit_sink import AuditSink
from broker.claims import IssuerConfig
from broker.jwks import KeyCache
from broker.metrics import BrokerMetrics
from broker.policy import Rule
from broker.ratelimit import RateLimiter
from broker.settings import Settings
from broker.store import SessionStore
from broker.vault import VaultBackend

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
BACKEND: web.AppKey[VaultBackend] = web.AppKey("backend")
STORE: web.AppKey[SessionStore] = web.AppKey("store")
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
ISSUERS: web.AppKey[Mapping[str, IssuerConfig]] = web.AppKey("issuers")
RULES: web.AppKey[tuple[Rule, ...]] = web.AppKey("rules")
KEYS: web.AppKey[KeyCache] = web.AppKey("keys")
AUDIT: web.AppKey[AuditSink] = web.AppKey("audit")  # absent when no audit.path is configured
METRICS: web.AppKey[BrokerMetrics] = web.AppKey("metrics")
LIMITER: web.AppKey[RateLimiter] = web.AppKey("limiter")
