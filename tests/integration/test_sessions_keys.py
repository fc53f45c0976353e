"""Issuer key rotation: an unknown kid triggers a bounded JWKS refetch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from broker import settings as settings_mod
from broker.app import make_app
from broker.store import SqliteStore
from broker.vault import OpenBaoBackend, read_token_file
from demo.issuer import Issuer, SigningKey

pytestmark = pytest.mark.integration
SUB = "system:serviceaccount:demo:app"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client_with_clock(
    aiohttp_client: Any, broker_config: Path
) -> AsyncIterator[Callable[[Clock], Any]]:
    cfg = settings_mod.load(broker_config, {})
    store = SqliteStore(cfg.sqlite_path)
    backend = OpenBaoBackend(
        cfg.vault.addr, read_token_file(cfg.vault.token_file), cfg.vault.token_role
    )

    async def make(clock: Clock) -> TestClient:
        return await aiohttp_client(make_app(cfg, backend, store, clock))

    yield make
    await backend.close()
    await store.close()


async def post(client: TestClient, jwt: str) -> tuple[int, Any]:
    resp = await client.post("/v1/sessions", headers={"Authorization": f"Bearer {jwt}"})
    return resp.status, await resp.json()


async def test_rotated_key_is_fetched_but_refetches_are_rate_limited(
    client_with_clock: Callable[[Clock], Any], issuer: Issuer
) -> None:
    """A new kid right after a fetch is unknown_key; after the refresh interval it verifies."""
    import time

    clock = Clock(time.time())
    client = await client_with_clock(clock)
    status, _ = await post(client, issuer.mint(sub=SUB))
    assert status == 201  # keys fetched and cached

    rotated = SigningKey.rsa()
    issuer.keys.append(rotated)
    try:
        token = issuer.mint(sub=SUB, key=rotated)
        status, body = await post(client, token)
        assert (status, body["error"]["code"]) == (401, "unknown_key")  # refetch rate-limited
        clock.now += 11  # past jwks_min_refresh_s (10 s default)
        status, body = await post(client, token)
        assert status == 201, body
    finally:
        issuer.keys.remove(rotated)


async def test_unreachable_issuer_is_503_issuer_unavailable(
    aiohttp_client: Any,
    short_tmp: Path,
    openbao: Any,
    broker_vault_token_file: Path,
    scope: Any,
) -> None:
    """When the issuer's discovery endpoint is down, a token from it gets 503, nothing created."""
    from tests.conftest import write_broker_config

    gone = Issuer().start()
    jwt = gone.mint(sub=SUB)
    config = write_broker_config(
        short_tmp / "broker.yaml", openbao, broker_vault_token_file, gone, scope
    )
    gone.stop()
    cfg = settings_mod.load(config, {})
    store = SqliteStore(cfg.sqlite_path)
    before = openbao.accessor_count()
    backend = OpenBaoBackend(
        cfg.vault.addr, read_token_file(cfg.vault.token_file), cfg.vault.token_role
    )
    client = await aiohttp_client(make_app(cfg, backend, store))
    status, body = await post(client, jwt)
    await backend.close()
    assert (status, body["error"]["code"]) == (503, "issuer_unavailable")
    assert await store.count() == 0 and openbao.accessor_count() == before
    await store.close()
