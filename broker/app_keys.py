"""Typed keys of the broker's ``web.Application`` state."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiohttp import web

from broker.claims import IssuerConfig
from broker.jwks import KeyCache
from broker.policy import Rule
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
