"""Issuer keys: OIDC discovery + JWKS over aiohttp, cached per issuer.

Invariants: fetches never block the loop and are bounded by a timeout and a body size; a kid
missing from the cache triggers at most one refetch per issuer per ``min_refresh_s``; concurrent
misses share one fetch (a per-issuer lock). aiohttp and pyjwt errors become IssuerUnavailable.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
from jwt.api_jwk import PyJWK

from broker import errors
from broker.claims import IssuerConfig

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024


@dataclass
class _Entry:
    keys: dict[str | None, PyJWK] = field(default_factory=dict)
    fetched_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class KeyCache:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        clock: Callable[[], float],
        timeout_s: float = 5.0,
        min_refresh_s: float = 10.0,
    ) -> None:
        self._http = http
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._min_refresh_s = min_refresh_s
        self._entries: dict[str, _Entry] = {}

    async def key_for(self, cfg: IssuerConfig, kid: str | None) -> PyJWK:
        entry = self._entries.setdefault(cfg.issuer, _Entry())
        key = _pick(entry.keys, kid)
        if key is not None:
            return key
        async with entry.lock:
            key = _pick(entry.keys, kid)  # another request may have refreshed meanwhile
            if key is not None:
                return key
            now = self._clock()
            if entry.fetched_at is None or now - entry.fetched_at >= self._min_refresh_s:
                entry.keys = await self.fetch_keys(cfg)
                entry.fetched_at = now
            key = _pick(entry.keys, kid)
        if key is None:
            raise errors.UnknownKey()
        return key

    async def fetch_keys(self, cfg: IssuerConfig) -> dict[str | None, PyJWK]:
        jwks_url = cfg.jwks_url
        if jwks_url is None:
            doc = await self._get_json(cfg.discovery())
            if doc.get("issuer") != cfg.issuer:
                log.warning("discovery document of %s names another issuer", cfg.issuer)
                raise errors.IssuerUnavailable("issuer discovery document does not match")
            jwks_url = doc.get("jwks_uri")
            if not isinstance(jwks_url, str):
                raise errors.IssuerUnavailable("issuer discovery document has no jwks_uri")
        body = await self._get_json(jwks_url)
        keys: dict[str | None, PyJWK] = {}
        for item in body.get("keys", []) if isinstance(body.get("keys"), list) else []:
            if not isinstance(item, dict) or item.get("use", "sig") != "sig":
                continue
            try:
                keys[item.get("kid")] = PyJWK(item)
            except jwt.PyJWTError:  # unsupported kty/alg: skip it, others may be usable
                continue
        log.info("fetched %d signing keys for issuer %s", len(keys), cfg.issuer)
        return keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http.get(url, timeout=self._timeout) as resp:
                if resp.status != 200:
                    raise errors.IssuerUnavailable(f"issuer answered HTTP {resp.status}")
                raw = await resp.content.read(MAX_BODY_BYTES + 1)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise errors.IssuerUnavailable() from exc
        if len(raw) > MAX_BODY_BYTES:
            raise errors.IssuerUnavailable("issuer document is too large")
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise errors.IssuerUnavailable("issuer document is not JSON") from exc
        if not isinstance(doc, dict):
            raise errors.IssuerUnavailable("issuer document is not a JSON object")
        return doc


def _pick(keys: dict[str | None, PyJWK], kid: str | None) -> PyJWK | None:
    if kid is None:
        # A token without kid is only usable when the issuer publishes exactly one key.
        return next(iter(keys.values())) if len(keys) == 1 else None
    return keys.get(kid)
