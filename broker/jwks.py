"""Issuer keys: OIDC discovery + JWKS over aiohttp (or a static JWKS file), cached per issuer.

Invariants:
- fetches never block the loop; each refresh (discovery and key set together) is bounded by
  one deadline and a body size, so a slow or broken issuer costs a caller at most
  ``timeout_s`` and then 503 ``issuer_unavailable``;
- freshness follows the issuer's ``Cache-Control: max-age`` (minus ``Age``), clamped to
  [``min_refresh_s``, ``max_cache_s``]; a stale key set keeps serving while one background
  refresh replaces it, so rotation is picked up without a restart and without a caller waiting;
- a kid missing from the cache triggers at most one fetch per issuer per ``min_refresh_s``
  (failed fetches count too), so an attacker's random kids cannot amplify into fetches;
  concurrent misses share one fetch (a per-issuer lock);
- aiohttp, JSON and pyjwt errors become ``IssuerUnavailable`` here, never anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from jwt.api_jwk import PyJWK

from broker import errors
from broker.claims import IssuerConfig

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024
DEFAULT_CACHE_S = 300.0  # when the issuer sends no max-age
MAX_CACHE_S = 24 * 3600.0
RefreshHook = Callable[[str, str], None]  # (issuer label, result "ok" | "error")

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def cache_seconds(headers: Any, lo: float, hi: float) -> float:
    """Freshness lifetime from ``Cache-Control``/``Age``, clamped to [lo, hi]."""
    control = str(headers.get("Cache-Control", "") or "")
    if re.search(r"no-store|no-cache", control, re.IGNORECASE):
        return lo
    m = _MAX_AGE.search(control)
    if m is None:
        return max(lo, min(hi, DEFAULT_CACHE_S))
    age = str(headers.get("Age", "0") or "0")
    seconds = int(m.group(1)) - (int(age) if age.isdigit() else 0)
    return max(lo, min(hi, float(seconds)))


@dataclass
class _Entry:
    jwks: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    prepared: dict[tuple[str | None, str], PyJWK] = field(default_factory=dict)
    fresh_until: float = 0.0
    attempted_at: float | None = None  # last fetch attempt, success or not
    failed: bool = False
    jwks_uri: str | None = None  # from discovery
    jwks_uri_until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    background: asyncio.Task[None] | None = None


class KeyCache:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        clock: Callable[[], float],
        timeout_s: float = 5.0,
        min_refresh_s: float = 10.0,
        *,
        max_cache_s: float = MAX_CACHE_S,
        on_refresh: RefreshHook | None = None,
    ) -> None:
        self._http = http
        self._clock = clock
        self._timeout_s = timeout_s
        self._min_refresh_s = min_refresh_s
        self._max_cache_s = max(max_cache_s, min_refresh_s)
        self._on_refresh = on_refresh
        self._entries: dict[str, _Entry] = {}

    async def key_for(self, cfg: IssuerConfig, kid: str | None, alg: str | None = None) -> PyJWK:
        """The issuer's key named ``kid``, prepared for ``alg`` (default: the key's own)."""
        entry = self._entries.get(cfg.issuer)
        if entry is None:  # not setdefault: that would build an _Entry (and a Lock) every call
            entry = self._entries[cfg.issuer] = _Entry()
        if entry.attempted_at is not None and self._clock() >= entry.fresh_until:
            self._refresh_in_background(cfg, entry)
        key = self._prepared(entry, kid, alg)
        if key is not None:
            return key
        async with entry.lock:
            key = self._prepared(entry, kid, alg)  # another request may have refreshed meanwhile
            if key is not None:
                return key
            now = self._clock()
            if entry.attempted_at is None or now - entry.attempted_at >= self._min_refresh_s:
                await self._refresh(cfg, entry)
            elif entry.failed and not entry.jwks:
                raise errors.IssuerUnavailable()  # the recent fetch failed: answer at once
            key = self._prepared(entry, kid, alg)
        if key is None:
            raise errors.UnknownKey()
        return key

    async def warm(self, issuers: Iterable[IssuerConfig]) -> None:
        """Fetch every issuer's keys once (start-up); failures are logged, not raised."""
        for cfg in issuers:
            entry = self._entries.setdefault(cfg.issuer, _Entry())
            async with entry.lock:
                with contextlib.suppress(errors.IssuerUnavailable):
                    await self._refresh(cfg, entry)

    async def close(self) -> None:
        tasks = [e.background for e in self._entries.values() if e.background is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _prepared(self, entry: _Entry, kid: str | None, alg: str | None) -> PyJWK | None:
        if kid is None:
            # A token without kid is only usable when the issuer publishes exactly one key.
            if len(entry.jwks) != 1:
                return None
            kid = next(iter(entry.jwks))
        jwk = entry.jwks.get(kid)
        if jwk is None:
            return None
        wanted = alg or jwk.get("alg")
        cached = entry.prepared.get((kid, str(wanted)))
        if cached is not None:
            return cached
        if alg is not None and jwk.get("alg") not in (None, alg):
            raise errors.DisallowedAlgorithm()  # the issuer pinned this key to another alg
        try:
            key = PyJWK(jwk, algorithm=alg)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            # The key's type cannot serve the token's alg (e.g. ES256 on an RSA key).
            raise errors.DisallowedAlgorithm() from exc
        entry.prepared[(kid, str(wanted))] = key
        return key

    def _refresh_in_background(self, cfg: IssuerConfig, entry: _Entry) -> None:
        if entry.background is not None and not entry.background.done():
            return
        if entry.attempted_at is not None and (
            self._clock() - entry.attempted_at < self._min_refresh_s
        ):
            return

        async def run() -> None:
            async with entry.lock:
                if self._clock() < entry.fresh_until:
                    return
                with contextlib.suppress(errors.IssuerUnavailable):
                    await self._refresh(cfg, entry)

        entry.background = asyncio.get_running_loop().create_task(run(), name="sluice-jwks")

    async def _refresh(self, cfg: IssuerConfig, entry: _Entry) -> None:
        """One bounded fetch; the entry keeps its old keys when it fails. Caller holds the lock."""
        entry.attempted_at = self._clock()
        try:
            async with asyncio.timeout(self._timeout_s):
                jwks, ttl = await self._fetch(cfg, entry)
        except TimeoutError as exc:
            self._failed(cfg, entry, "timed out")
            raise errors.IssuerUnavailable() from exc
        except errors.IssuerUnavailable as exc:
            self._failed(cfg, entry, exc.message)
            raise
        entry.jwks, entry.prepared, entry.failed = jwks, {}, False
        entry.fresh_until = self._clock() + ttl
        if self._on_refresh is not None:
            self._on_refresh(cfg.label, "ok")
        log.info("fetched %d signing keys for issuer %s", len(jwks), cfg.label)

    def _failed(self, cfg: IssuerConfig, entry: _Entry, why: str) -> None:
        entry.failed = True
        # Retry no sooner than the refetch interval, even for background refreshes.
        entry.fresh_until = max(entry.fresh_until, self._clock() + self._min_refresh_s)
        if self._on_refresh is not None:
            self._on_refresh(cfg.label, "error")
        log.warning("issuer %s keys unavailable: %s", cfg.label, why)

    async def _fetch(
        self, cfg: IssuerConfig, entry: _Entry
    ) -> tuple[dict[str | None, dict[str, Any]], float]:
        lo, hi = self._min_refresh_s, self._max_cache_s
        if cfg.jwks_file is not None:
            raw = await asyncio.to_thread(_read_file, Path(cfg.jwks_file))
            return parse_jwks(_json_object(raw)), lo
        jwks_url = cfg.jwks_url
        if jwks_url is None:
            now = self._clock()
            if entry.jwks_uri is None or now >= entry.jwks_uri_until:
                doc, headers = await self._get_json(cfg.discovery())
                if doc.get("issuer") != cfg.issuer:
                    raise errors.IssuerUnavailable("issuer discovery document names another issuer")
                uri = doc.get("jwks_uri")
                if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
                    raise errors.IssuerUnavailable("issuer discovery document has no jwks_uri")
                entry.jwks_uri, entry.jwks_uri_until = uri, now + cache_seconds(headers, lo, hi)
            jwks_url = entry.jwks_uri
        body, headers = await self._get_json(jwks_url)
        return parse_jwks(body), cache_seconds(headers, lo, hi)

    async def _get_json(self, url: str) -> tuple[dict[str, Any], Any]:
        try:
            async with self._http.get(url, allow_redirects=False) as resp:
                if resp.status != 200:
                    raise errors.IssuerUnavailable(f"issuer answered HTTP {resp.status}")
                raw = await _read_bounded(resp.content, MAX_BODY_BYTES + 1)
                headers = resp.headers
        except aiohttp.ClientError as exc:
            raise errors.IssuerUnavailable() from exc
        if len(raw) > MAX_BODY_BYTES:
            raise errors.IssuerUnavailable("issuer document is too large")
        return _json_object(raw), headers


def parse_jwks(body: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    """Signing keys by kid; private members are dropped, symmetric keys never accepted."""
    keys: dict[str | None, dict[str, Any]] = {}
    items = body.get("keys")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("use", "sig") != "sig":
            continue
        if item.get("kty") not in ("RSA", "EC", "OKP"):
            continue  # "oct" would turn a published secret into a verification key
        kid = item.get("kid")
        if kid is not None and not isinstance(kid, str):
            continue
        public = {k: v for k, v in item.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        keys[kid] = public
    return keys


async def _read_bounded(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """The body up to `limit` bytes. `StreamReader.read(n)` returns what has arrived so far,
    not n bytes: one call truncates a body that spans several TCP segments."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _read_file(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BODY_BYTES + 1)
    except OSError as exc:
        raise errors.IssuerUnavailable("static key set file cannot be read") from exc
    if len(raw) > MAX_BODY_BYTES:
        raise errors.IssuerUnavailable("static key set file is too large")
    return raw


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise errors.IssuerUnavailable("issuer document is not JSON") from exc
    if not isinstance(doc, dict):
        raise errors.IssuerUnavailable("issuer document is not a JSON object")
    return doc
