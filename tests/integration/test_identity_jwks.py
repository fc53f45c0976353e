"""The key cache against a real loopback issuer: caching, refetch limits, outages, rotation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from broker import errors
from broker.claims import IssuerConfig
from broker.jwks import KeyCache, cache_seconds
from demo.issuer import SigningKey

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeIssuer:
    """A discovery + JWKS server whose keys, headers and failures the test controls."""

    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.rsa("k1")])
    cache_control: str | None = "max-age=300"
    delay_s: float = 0.0
    status: int = 200
    trickle: bool = False  # send the JWKS body in small pieces with pauses between them
    fetches: int = 0
    discoveries: int = 0
    url: str = ""

    def app(self) -> web.Application:
        async def discovery(_: web.Request) -> web.Response:
            self.discoveries += 1
            return web.json_response({"issuer": self.url, "jwks_uri": self.url + "/keys"})

        async def jwks(_: web.Request) -> web.Response:
            self.fetches += 1
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            headers = {"Cache-Control": self.cache_control} if self.cache_control else {}
            if self.trickle:
                body = json.dumps({"keys": [k.public_jwk() for k in self.keys]}).encode()
                resp = web.StreamResponse(headers={**headers, "Content-Type": "application/json"})
                await resp.prepare(_)
                for i in range(0, len(body), 97):
                    await resp.write(body[i : i + 97])
                    await asyncio.sleep(0.005)
                await resp.write_eof()
                return resp
            return web.json_response(
                {"keys": [k.public_jwk() for k in self.keys]}, status=self.status, headers=headers
            )

        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", discovery)
        app.router.add_get("/keys", jwks)
        return app


@pytest.fixture
async def fake() -> AsyncIterator[FakeIssuer]:
    issuer = FakeIssuer()
    server = TestServer(issuer.app(), host="127.0.0.1")
    await server.start_server()
    issuer.url = str(server.make_url("")).rstrip("/")
    try:
        yield issuer
    finally:
        await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def cfg_for(fake: FakeIssuer, **kw: Any) -> IssuerConfig:
    return IssuerConfig(issuer=fake.url, audiences=("sluice",), name="fake", **kw)


async def test_max_age_is_honoured_and_stale_keys_refresh_in_background(
    fake: FakeIssuer, http: aiohttp.ClientSession
) -> None:
    """Within max-age no fetch happens; after it, the old keys serve while one refresh runs."""
    clock = Clock()
    cache = KeyCache(http, clock, timeout_s=2, min_refresh_s=1)
    cfg = cfg_for(fake)
    await cache.key_for(cfg, "k1", "RS256")
    clock.now += 299
    await cache.key_for(cfg, "k1", "RS256")
    assert (fake.discoveries, fake.fetches) == (1, 1)
    clock.now += 2  # past max-age
    await cache.key_for(cfg, "k1", "RS256")  # answered from the stale set at once
    await asyncio.sleep(0.2)
    assert fake.fetches == 2
    await cache.close()


async def test_unknown_kids_cause_at_most_one_refetch_per_interval(
    fake: FakeIssuer, http: aiohttp.ClientSession
) -> None:
    """A burst of random kids costs one fetch per interval, not one per request."""
    clock = Clock()
    cache = KeyCache(http, clock, timeout_s=2, min_refresh_s=10)
    cfg = cfg_for(fake)
    await cache.key_for(cfg, "k1", "RS256")
    results = await asyncio.gather(
        *(cache.key_for(cfg, f"attacker-{i}", "RS256") for i in range(50)),
        return_exceptions=True,
    )
    assert all(isinstance(r, errors.UnknownKey) for r in results)
    assert fake.fetches == 1  # the interval since the first fetch has not passed
    clock.now += 11
    await asyncio.gather(
        *(cache.key_for(cfg, f"attacker-{i}", "RS256") for i in range(50)),
        return_exceptions=True,
    )
    assert fake.fetches == 2
    await cache.close()


async def test_a_key_set_that_arrives_in_pieces_is_read_whole(
    fake: FakeIssuer, http: aiohttp.ClientSession
) -> None:
    """A JWKS body sent in many small writes (a slow or chunking proxy) is read to its end."""
    fake.trickle = True
    fake.keys = [SigningKey.rsa("k1"), SigningKey.rsa("k2"), SigningKey.rsa("k3")]
    cache = KeyCache(http, Clock(), timeout_s=5, min_refresh_s=1)
    assert (await cache.key_for(cfg_for(fake), "k3", "RS256")).algorithm_name == "RS256"
    await cache.close()


async def test_rotated_key_is_picked_up_without_restart(
    fake: FakeIssuer, http: aiohttp.ClientSession
) -> None:
    """A new kid published by the issuer is found on the next refetch; a dropped one goes."""
    clock = Clock()
    cache = KeyCache(http, clock, timeout_s=2, min_refresh_s=5)
    cfg = cfg_for(fake)
    await cache.key_for(cfg, "k1", "RS256")
    fake.keys = [SigningKey.rsa("k2")]
    clock.now += 6
    assert (await cache.key_for(cfg, "k2", "RS256")).algorithm_name == "RS256"
    with pytest.raises(errors.UnknownKey):
        await cache.key_for(cfg, "k1", "RS256")
    await cache.close()


async def test_slow_issuer_gives_issuer_unavailable_within_the_timeout(
    fake: FakeIssuer, http: aiohttp.ClientSession
) -> None:
    """A JWKS endpoint that hangs costs the timeout, then 503; the next caller is answered at once."""
    fake.delay_s = 30
    cache = KeyCache(http, Clock(), timeout_s=0.5, min_refresh_s=10)
    cfg = cfg_for(fake)
    started = time.monotonic()
    with pytest.raises(errors.IssuerUnavailable) as info:
        await cache.key_for(cfg, "k1", "RS256")
    assert time.monotonic() - started < 2.0
    assert info.value.status == 503 and info.value.code == "issuer_unavailable"
    started = time.monotonic()
    with pytest.raises(errors.IssuerUnavailable):
        await cache.key_for(cfg, "k1", "RS256")
    assert time.monotonic() - started < 0.1 and fake.fetches == 1
    await cache.close()


@pytest.mark.parametrize("status", [500, 404])
async def test_broken_issuer_is_unavailable_and_old_keys_keep_serving(
    fake: FakeIssuer, http: aiohttp.ClientSession, status: int
) -> None:
    """An erroring JWKS endpoint is 503 with no keys; with cached keys, known kids still work."""
    clock = Clock()
    hook: list[tuple[str, str]] = []
    cache = KeyCache(
        http, clock, timeout_s=2, min_refresh_s=1, on_refresh=lambda i, r: hook.append((i, r))
    )
    cfg = cfg_for(fake)
    await cache.key_for(cfg, "k1", "RS256")
    fake.status = status
    clock.now += 400
    await cache.key_for(cfg, "k1", "RS256")  # stale but served; background refresh fails
    await asyncio.sleep(0.2)
    assert hook == [("fake", "ok"), ("fake", "error")]
    fresh = KeyCache(http, clock, timeout_s=2, min_refresh_s=1)
    with pytest.raises(errors.IssuerUnavailable):
        await fresh.key_for(cfg, "k1", "RS256")
    await cache.close()


async def test_discovery_naming_another_issuer_is_refused(
    fake: FakeIssuer, http: aiohttp.ClientSession
) -> None:
    """Discovery must name the configured issuer, or its keys are not trusted."""
    cfg = IssuerConfig(
        issuer="https://elsewhere.example",
        audiences=("a",),
        discovery_url=fake.url + "/.well-known/openid-configuration",
    )
    with pytest.raises(errors.IssuerUnavailable):
        await KeyCache(http, Clock()).key_for(cfg, "k1", "RS256")


async def test_static_jwks_file_and_its_rotation(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A jwks_file issuer needs no network; a rewritten file is read after the interval."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [SigningKey.rsa("a").public_jwk()]}))
    clock = Clock()
    cache = KeyCache(http, clock, min_refresh_s=5)
    cfg = IssuerConfig(issuer="https://k8s.internal", audiences=("a",), jwks_file=str(path))
    assert (await cache.key_for(cfg, "a", "RS256")).algorithm_name == "RS256"
    path.write_text(json.dumps({"keys": [SigningKey.ec("b").public_jwk()]}))
    clock.now += 6
    assert (await cache.key_for(cfg, "b", "ES256")).algorithm_name == "ES256"
    await cache.close()


async def test_key_type_must_fit_the_algorithm(
    fake: FakeIssuer, http: aiohttp.ClientSession
) -> None:
    """An ES256 token naming an RSA key, or a key pinned to another alg, is disallowed."""
    cache = KeyCache(http, Clock())
    cfg = cfg_for(fake, algorithms=("RS256", "ES256", "PS256"))
    with pytest.raises(errors.DisallowedAlgorithm):
        await cache.key_for(cfg, "k1", "ES256")
    with pytest.raises(errors.DisallowedAlgorithm):
        await cache.key_for(cfg, "k1", "PS256")  # the JWK says alg RS256


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Cache-Control": "public, max-age=600"}, 600),
        ({"Cache-Control": "max-age=600", "Age": "100"}, 500),
        ({"Cache-Control": "no-store"}, 10),
        ({"Cache-Control": "max-age=1"}, 10),
        ({"Cache-Control": "max-age=99999999"}, 86400),
        ({}, 300),
    ],
)
def test_cache_seconds(headers: dict[str, str], seconds: float) -> None:
    """max-age minus Age, clamped to [min_refresh, one day]; default 5 minutes."""
    assert cache_seconds(headers, 10, 86400) == seconds
