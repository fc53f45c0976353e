"""The reaper: expired sessions are marked, failed ends are retried until OpenBao revokes."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from broker import errors
from broker import settings as settings_mod
from broker.app import make_app
from broker.reaper import reap_once
from broker.store import SqliteStore
from broker.vault import OpenBaoBackend, read_token_file
from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import Scope

pytestmark = pytest.mark.integration
SUB = "system:serviceaccount:demo:app"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class FlakyRevokes(OpenBaoBackend):
    """The real backend, with revocation failing on demand (OpenBao unreachable at that moment)."""

    failing = False

    async def revoke_accessor(self, accessor: str) -> None:
        if self.failing:
            raise errors.VaultUnavailable()
        await super().revoke_accessor(accessor)


@dataclass
class Broker:
    client: TestClient
    clock: Clock
    backend: FlakyRevokes
    db: Path


@pytest.fixture
async def broker(aiohttp_client: Any, broker_config: Path) -> AsyncIterator[Broker]:
    cfg = settings_mod.load(broker_config, {})
    store = SqliteStore(cfg.sqlite_path)
    clock = Clock()
    backend = FlakyRevokes(
        cfg.vault.addr, read_token_file(cfg.vault.token_file), cfg.vault.token_role
    )
    client = await aiohttp_client(make_app(cfg, backend, store, clock))
    yield Broker(client, clock, backend, cfg.sqlite_path)
    await client.close()
    await backend.close()
    await store.close()


def state_of(db: Path, session_id: str) -> str:
    with sqlite3.connect(db) as conn:
        return str(
            conn.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()[0]
        )


async def open_session(broker: Broker, issuer: Issuer) -> dict[str, Any]:
    resp = await broker.client.post(
        "/v1/sessions", headers={"Authorization": f"Bearer {issuer.mint(sub=SUB)}"}
    )
    assert resp.status == 201
    return dict(await resp.json())


async def test_sessions_past_expiry_are_marked_expired(
    broker: Broker, issuer: Issuer, scope: Scope
) -> None:
    """Only sessions whose expires_at has passed become expired; others stay active."""
    old = await open_session(broker, issuer)
    broker.clock.now += scope.ttl_s + 1
    fresh = await open_session(broker, issuer)
    result = await reap_once(broker.client.app)
    assert result.expired == 1
    assert state_of(broker.db, old["session_id"]) == "expired"
    assert state_of(broker.db, fresh["session_id"]) == "active"


async def test_failed_end_is_retried_by_the_reaper(
    broker: Broker, issuer: Issuer, openbao: DevServer
) -> None:
    """DELETE during an OpenBao outage: 202 ending; passes retry with backoff until revoked."""
    session = await open_session(broker, issuer)
    broker.backend.failing = True
    resp = await broker.client.delete(
        f"/v1/sessions/{session['session_id']}",
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    assert resp.status == 202
    assert (await resp.json())["state"] == "ending"
    assert state_of(broker.db, session["session_id"]) == "ending"
    assert openbao.lookup_status(session["token"]) == 200

    assert (await reap_once(broker.client.app)).failed == 0  # backoff: not due yet
    broker.clock.now += 1.5
    assert (await reap_once(broker.client.app)).failed == 1  # still down: stays ending
    broker.backend.failing = False
    broker.clock.now += 1.5
    assert (await reap_once(broker.client.app)).ended == 0  # second backoff is 2 s
    broker.clock.now += 1.0
    assert (await reap_once(broker.client.app)).ended == 1
    assert state_of(broker.db, session["session_id"]) == "ended"
    assert openbao.lookup_status(session["token"]) == 403
