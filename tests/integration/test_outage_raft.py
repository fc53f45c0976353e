"""OpenBao outage: with a raft-backed (non-dev) OpenBao stopped, ended sessions stay `ending`
and the API says so; once OpenBao is back, the reaper revokes every one of them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from broker.sessions import State
from broker.store import SessionStore, open_store
from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.support.openbao_raft import RaftOpenBao
from tests.support.sessions import config_text, in_process_app, load_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SESSIONS = 50
RECOVERY_BOUND_S = 30.0


def root_api(raft: RaftOpenBao) -> DevServer:
    """DevServer's API helpers (provisioning, lookups) pointed at the raft node as root."""
    api = DevServer(root_token=raft.root_token)
    api.addr = raft.addr
    return api


@pytest.fixture
async def broker(
    aiohttp_client: Any, openbao_raft: RaftOpenBao, short_tmp: Path, issuer: Issuer
) -> AsyncIterator[tuple[TestClient, SessionStore]]:
    bao = root_api(openbao_raft)
    bao.put_policy("sluice-outage", 'path "secret/data/outage/*" { capabilities = ["read"] }')
    token_file = short_tmp / "broker-token"
    token_file.write_text(bao.provision_broker())
    cfg = short_tmp / "broker.yaml"
    cfg.write_text(
        config_text(
            vault_addr=openbao_raft.addr,
            token_file=token_file,
            issuer_url=issuer.url,
            policies=["sluice-outage"],
            store={"sqlite_path": str(short_tmp / "s.db")},
            sessions={"retry_max_s": 1, "claim_s": 5},
            reap_interval_s=0.2,
        )
    )
    settings = load_settings(cfg)
    store = await open_store(settings.store_location)
    app, _ = in_process_app(settings, store, time.time)  # type: ignore[arg-type]
    client = await aiohttp_client(app)
    yield client, store
    await client.close()
    await store.close()


async def test_sessions_ended_during_an_outage_are_revoked_when_openbao_returns(
    broker: tuple[TestClient, SessionStore], openbao_raft: RaftOpenBao, issuer: Issuer
) -> None:
    """50 ends during the outage: 202 `ending`, tokens still alive in storage; after the
    restart all 50 are revoked within a bounded time and reach `ended`."""
    client, store = broker
    sessions = []
    for i in range(SESSIONS):
        resp = await client.post(
            "/v1/sessions",
            headers={"Authorization": f"Bearer {issuer.mint(sub=f'system:serviceaccount:o:{i}')}"},
        )
        assert resp.status == 201, await resp.text()
        sessions.append(await resp.json())

    openbao_raft.stop(graceful=False)
    for body in sessions:
        resp = await client.delete(
            f"/v1/sessions/{body['session_id']}",
            headers={"Authorization": f"Bearer {body['token']}"},
        )
        assert resp.status == 202
        assert await resp.json() == {"session_id": body["session_id"], "state": "ending"}
    assert (await store.count_by_state()).get(State.ENDING) == SESSIONS

    openbao_raft.start()
    bao = root_api(openbao_raft)
    assert all(bao.lookup_status(b["token"]) == 200 for b in sessions[:3])  # survived storage

    started = time.monotonic()
    while (await store.count_by_state()).get(State.ENDED, 0) < SESSIONS:
        assert time.monotonic() - started < RECOVERY_BOUND_S, await store.count_by_state()
        await asyncio.sleep(0.2)
    assert all(bao.lookup_status(b["token"]) == 403 for b in sessions)
    again = await client.delete(
        f"/v1/sessions/{sessions[0]['session_id']}",
        headers={"Authorization": f"Bearer {sessions[0]['token']}"},
    )
    assert again.status == 204
