"""Session lifecycle in-process against a real OpenBao dev server: one revocation per session
kills the token, its children and its ACL policy; ending is idempotent; heartbeats, crashes
between OpenBao and the store, and the reconciler."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from broker import lifecycle
from broker.claims import VerifiedClaims
from broker.policy import Grant
from broker.reaper import reap_once
from broker.reconcile import reconcile
from broker.sessions import State
from broker.store import SessionStore, open_store
from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import Scope, wait_until
from tests.support.sessions import (
    Backend,
    Clock,
    in_process_app,
    load_settings,
    tagged_tokens,
    write_sqlite_config,
)

pytestmark = pytest.mark.integration
SUB = "system:serviceaccount:demo:app"
WINDOW_S = 10


@dataclass
class Broker:
    client: TestClient
    app: Any
    clock: Clock
    backend: Backend
    store: SessionStore


@pytest.fixture
async def broker(
    aiohttp_client: Any,
    short_tmp: Path,
    openbao: DevServer,
    broker_vault_token_file: Path,
    issuer: Issuer,
    scope: Scope,
) -> AsyncIterator[Broker]:
    cfg_path = write_sqlite_config(
        short_tmp,
        openbao=openbao,
        token_file=broker_vault_token_file,
        issuer=issuer,
        scope=scope,
        sessions={
            "heartbeat_window_s": WINDOW_S,
            "pending_grace_s": 5,
            "open_timeout_s": 4,
            "reconcile_at_start": False,
        },
    )
    settings = load_settings(cfg_path)
    store = await open_store(settings.store_location)
    clock = Clock()
    app, backend = in_process_app(settings, store, clock)
    client = await aiohttp_client(app)
    yield Broker(client, client.app, clock, backend, store)
    await client.close()
    await store.close()


def identity(sub: str = SUB) -> VerifiedClaims:
    return VerifiedClaims("https://iss.example", sub, ("sluice",), 0.0, {"sub": sub})


def acl_for(scope: Scope) -> str:
    """A per-session ACL: read the scope's allowed path, and mint child tokens."""
    return (
        f'path "{scope.allowed_path}" {{ capabilities = ["read"] }}\n'
        'path "auth/token/create" { capabilities = ["create", "update"] }\n'
    )


async def test_one_revocation_kills_token_children_and_acl_policy(
    broker: Broker, openbao: DevServer, scope: Scope
) -> None:
    """Ending a session costs one revoke-accessor; the token, a child and the ACL policy die."""
    grant = Grant(rule="app", policies=("sluice-none",), ttl_s=300, no_default_policy=True)
    opened = await lifecycle.open_session(
        broker.app, identity=identity(), grant=grant, acl_hcl=acl_for(scope)
    )
    token = opened.token.reveal()
    assert opened.acl_policy is not None
    assert openbao.api("GET", scope.allowed_path, token=token)[0] == 200  # via the ACL policy
    assert openbao.api("GET", scope.denied_path, token=token)[0] == 403
    status, child = openbao.api("POST", "auth/token/create", {"ttl": "5m"}, token=token)
    assert status == 200
    child_token = child["auth"]["client_token"]
    assert openbao.api("GET", f"sys/policies/acl/{opened.acl_policy}")[0] == 200

    outcome = await lifecycle.end_session(broker.app, opened.session_id)

    assert outcome.state is State.ENDED
    assert broker.backend.revokes == [opened.accessor]  # one revocation for everything
    assert openbao.lookup_status(token) == 403
    assert openbao.lookup_status(child_token) == 403
    assert openbao.api("GET", f"sys/policies/acl/{opened.acl_policy}")[0] == 404
    record = await broker.store.get(opened.session_id)
    assert record is not None and record.state is State.ENDED and record.ended_at is not None


async def test_ending_twice_is_not_an_error_and_revokes_once(
    broker: Broker, issuer: Issuer
) -> None:
    """A second DELETE answers 204 and does not call OpenBao again."""
    resp = await broker.client.post(
        "/v1/sessions", headers={"Authorization": f"Bearer {issuer.mint(sub=SUB)}"}
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    auth = {"Authorization": f"Bearer {body['token']}"}
    for _ in range(2):
        resp = await broker.client.delete(f"/v1/sessions/{body['session_id']}", headers=auth)
        assert resp.status == 204
    assert broker.backend.revokes == [body["accessor"]]


async def test_heartbeats_keep_a_session_and_a_missed_window_expires_it(
    broker: Broker, issuer: Issuer, openbao: DevServer
) -> None:
    """Heartbeats push the deadline; after a missed window the reaper revokes the session."""
    resp = await broker.client.post(
        "/v1/sessions", headers={"Authorization": f"Bearer {issuer.mint(sub=SUB)}"}
    )
    body = await resp.json()
    sid, auth = body["session_id"], {"Authorization": f"Bearer {body['token']}"}
    start = broker.clock.now
    for step in (6, 12, 18):  # each beat inside the window: alive at 18 s > window
        broker.clock.now = start + step
        beat = await broker.client.post(f"/v1/sessions/{sid}/heartbeat", headers=auth)
        assert beat.status == 200
        assert (await beat.json())["deadline_at"] == pytest.approx(start + step + WINDOW_S)
        assert (await reap_once(broker.app)).expired == 0
    wrong = await broker.client.post(
        f"/v1/sessions/{sid}/heartbeat", headers={"Authorization": "Bearer s.wrong"}
    )
    assert wrong.status == 403

    broker.clock.now = start + 18 + WINDOW_S + 0.5  # missed the window
    result = await reap_once(broker.app)
    assert (result.expired, result.ended) == (1, 1)
    assert openbao.lookup_status(body["token"]) == 403
    record = await broker.store.get(sid)
    assert record is not None and record.state is State.EXPIRED
    late = await broker.client.post(f"/v1/sessions/{sid}/heartbeat", headers=auth)
    assert (late.status, (await late.json())["error"]["code"]) == (409, "session_not_active")


async def test_lost_create_answer_leaves_a_pending_intent_the_reaper_settles(
    broker: Broker, issuer: Issuer, openbao: DevServer
) -> None:
    """OpenBao made a token but the broker never learnt it: after the grace the reconciler
    finds it by its tag, revokes it, and the intent row ends."""
    store_id = await broker.store.store_id()
    before = set(tagged_tokens(openbao.api, store_id))
    broker.backend.lose_create_answer = True
    resp = await broker.client.post(
        "/v1/sessions", headers={"Authorization": f"Bearer {issuer.mint(sub=SUB)}"}
    )
    assert resp.status == 503
    broker.backend.lose_create_answer = False
    orphans = {a: s for a, s in tagged_tokens(openbao.api, store_id).items() if a not in before}
    assert len(orphans) == 1
    ((accessor, sid),) = orphans.items()
    assert (await broker.store.get(sid)).state is State.PENDING  # type: ignore[union-attr]

    assert (await reap_once(broker.app)).abandoned == 0  # young: maybe an open in flight
    broker.clock.now += 6
    assert (await reap_once(broker.app)).abandoned == 1
    assert accessor not in tagged_tokens(openbao.api, store_id)
    assert (await broker.store.get(sid)).state is State.ENDED  # type: ignore[union-attr]


async def test_reconciler_revokes_only_its_own_tokens_of_dead_sessions(
    broker: Broker, openbao: DevServer
) -> None:
    """Tokens of ended or unknown sessions of this store die; active ones and other
    deployments' tokens live."""
    grant = Grant(rule="app", policies=("sluice-none",), ttl_s=300, no_default_policy=True)
    live = await lifecycle.open_session(broker.app, identity=identity(), grant=grant, acl_hcl=None)
    dead = await lifecycle.open_session(broker.app, identity=identity(), grant=grant, acl_hcl=None)
    # The store says ended but OpenBao never heard (e.g. a restored backup).
    await broker.store.request_end(dead.session_id, State.ENDED, broker.clock.now)
    await broker.store.finish_end(dead.session_id, broker.clock.now)
    store_id = await broker.store.store_id()
    unknown = openbao.ok("POST", "auth/token/create", {
        "policies": ["sluice-none"], "ttl": "5m", "no_default_policy": True,
        "meta": {"sluice_session": "ses_unknown", "sluice_store": store_id},
    })["auth"]  # fmt: skip
    foreign = openbao.ok("POST", "auth/token/create", {
        "policies": ["sluice-none"], "ttl": "5m", "no_default_policy": True,
        "meta": {"sluice_session": dead.session_id, "sluice_store": "st_other" + secrets.token_hex(2)},
    })["auth"]  # fmt: skip

    result = await reconcile(broker.app)

    assert result.revoked == 2
    assert openbao.lookup_status(dead.token.reveal()) == 403
    assert openbao.lookup_status(unknown["client_token"]) == 403
    assert openbao.lookup_status(live.token.reveal()) == 200
    assert openbao.lookup_status(foreign["client_token"]) == 200
    openbao.ok("POST", "auth/token/revoke-accessor", {"accessor": foreign["accessor"]})


async def test_revoking_an_expired_token_counts_as_confirmed(
    broker: Broker, openbao: DevServer
) -> None:
    """A session whose token already lapsed in OpenBao still reaches a final state."""
    grant = Grant(rule="app", policies=("sluice-none",), ttl_s=1, no_default_policy=True)
    opened = await lifecycle.open_session(
        broker.app, identity=identity(), grant=grant, acl_hcl=None
    )
    wait_until(lambda: openbao.lookup_status(opened.token.reveal()) == 403, "token lapse", 10)
    outcome = await lifecycle.end_session(broker.app, opened.session_id)
    assert outcome.state is State.ENDED
