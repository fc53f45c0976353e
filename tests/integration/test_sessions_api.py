"""The session API in-process against a real OpenBao dev server and a local OIDC issuer."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from broker import settings as settings_mod
from broker.app import make_app
from broker.store import SqliteStore
from broker.vault import OpenBaoBackend, read_token_file
from demo.issuer import Issuer, SigningKey
from demo.openbao import DevServer
from tests.conftest import Scope

pytestmark = pytest.mark.integration
SUB = "system:serviceaccount:demo:app"


@pytest.fixture
async def client(aiohttp_client: Any, broker_config: Path) -> AsyncIterator[TestClient]:
    cfg = settings_mod.load(broker_config, {})
    store = SqliteStore(cfg.sqlite_path)
    backend = OpenBaoBackend(
        cfg.vault.addr, read_token_file(cfg.vault.token_file), cfg.vault.token_role
    )
    yield await aiohttp_client(make_app(cfg, backend, store))
    await backend.close()
    await store.close()


def session_rows(broker_config: Path) -> int:
    """Sessions that are, or may become, usable (an abandoned open's intent row is ended)."""
    with sqlite3.connect(broker_config.parent / "sessions.db") as db:
        return int(
            db.execute(
                "SELECT COUNT(*) FROM sessions WHERE state IN ('pending', 'active')"
            ).fetchone()[0]
        )


async def open_session(client: TestClient, jwt: str) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/v1/sessions", headers={"Authorization": f"Bearer {jwt}"})
    return resp.status, await resp.json()


async def test_issued_token_reads_allowed_path_and_is_denied_elsewhere(
    client: TestClient, issuer: Issuer, openbao: DevServer, scope: Scope
) -> None:
    """The token reads the KV path its rule allows, and gets 403 on one it does not."""
    status, body = await open_session(client, issuer.mint(sub=SUB))
    assert status == 201, body
    assert set(body) == {"session_id", "token", "accessor", "expires_at"}
    token = body["token"]
    assert token.startswith("s.") and len(token) == 26
    read_status, secret = openbao.api("GET", scope.allowed_path, token=token)
    assert read_status == 200 and secret["data"]["data"]["password"].startswith("allowed-")
    assert openbao.api("GET", scope.denied_path, token=token)[0] == 403


async def test_token_ttl_is_capped_by_the_rule_and_policies_are_exact(
    client: TestClient, issuer: Issuer, openbao: DevServer, scope: Scope
) -> None:
    """OpenBao reports a TTL no longer than the rule's, the rule's policy and no default."""
    _, body = await open_session(client, issuer.mint(sub=SUB))
    status, info = openbao.api("POST", "auth/token/lookup", {"token": body["token"]})
    assert status == 200
    data = info["data"]
    assert 0 < data["ttl"] <= scope.ttl_s
    assert data["explicit_max_ttl"] <= scope.ttl_s
    assert data["policies"] == [scope.policy]
    assert data["meta"]["sluice_session"] == body["session_id"]
    assert data["meta"]["subject"] == SUB
    assert data["orphan"] is False


async def test_delete_revokes_the_token(
    client: TestClient, issuer: Issuer, openbao: DevServer, broker_config: Path, scope: Scope
) -> None:
    """After DELETE with the session token, OpenBao answers 403 to the token's lookup and use."""
    _, body = await open_session(client, issuer.mint(sub=SUB))
    token = body["token"]
    assert openbao.api("GET", scope.allowed_path, token=token)[0] == 200
    assert openbao.lookup_status(token) == 200
    resp = await client.delete(
        f"/v1/sessions/{body['session_id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status == 204
    assert openbao.lookup_status(token) == 403
    assert openbao.api("GET", scope.allowed_path, token=token)[0] == 403
    with sqlite3.connect(broker_config.parent / "sessions.db") as db:
        state, ended_at = db.execute(
            "SELECT state, ended_at FROM sessions WHERE id = ?", (body["session_id"],)
        ).fetchone()
    assert state == "ended" and ended_at is not None
    again = await client.delete(
        f"/v1/sessions/{body['session_id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert again.status == 204  # idempotent: the session stays ended


async def test_delete_with_wrong_bearer_is_403_and_token_survives(
    client: TestClient, issuer: Issuer, openbao: DevServer
) -> None:
    """Another session's token cannot end this session."""
    _, mine = await open_session(client, issuer.mint(sub=SUB))
    _, other = await open_session(client, issuer.mint(sub=SUB))
    resp = await client.delete(
        f"/v1/sessions/{mine['session_id']}", headers={"Authorization": f"Bearer {other['token']}"}
    )
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden"
    assert openbao.lookup_status(mine["token"]) == 200


async def test_delete_unknown_session_is_404(client: TestClient) -> None:
    """An id that was never issued answers 404 session_not_found."""
    resp = await client.delete(
        "/v1/sessions/ses_doesnotexist", headers={"Authorization": "Bearer s.whatever"}
    )
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "session_not_found"


def _bad_tokens(issuer: Issuer, stranger: Issuer) -> dict[str, tuple[str, str]]:
    forged_key = SigningKey(issuer.keys[0].kid, "RS256", SigningKey.rsa().private)
    return {
        "bad signature": (issuer.mint(sub=SUB, key=forged_key), "invalid_signature"),
        "expired": (issuer.mint(sub=SUB, ttl_s=-3600), "expired_token"),
        "other audience": (issuer.mint(sub=SUB, aud="someone-else"), "audience_mismatch"),
        "unknown issuer": (stranger.mint(sub=SUB), "unknown_issuer"),
        "garbage": ("not-a-jwt", "invalid_token"),
    }


@pytest.mark.parametrize(
    "case", ["bad signature", "expired", "other audience", "unknown issuer", "garbage"]
)
async def test_rejected_identity_gets_401_and_creates_nothing(
    case: str,
    client: TestClient,
    issuer: Issuer,
    stranger_issuer: Issuer,
    openbao: DevServer,
    broker_config: Path,
) -> None:
    """Each rejected identity token: 401 with its own code, no session row, no OpenBao token."""
    jwt, code = _bad_tokens(issuer, stranger_issuer)[case]
    accessors_before = openbao.accessor_count()
    status, body = await open_session(client, jwt)
    assert (status, body["error"]["code"]) == (401, code)
    assert jwt not in str(body)
    assert session_rows(broker_config) == 0
    assert openbao.accessor_count() == accessors_before


@pytest.mark.parametrize(
    ("header", "code"),
    [(None, "missing_token"), ("Basic dXNlcjpwYXNz", "invalid_token"), ("Bearer", "invalid_token")],
)
async def test_malformed_authorization_header(
    header: str | None, code: str, client: TestClient
) -> None:
    """A missing or non-Bearer Authorization header gets 401 with a stable code."""
    headers = {"Authorization": header} if header is not None else {}
    resp = await client.post("/v1/sessions", headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == code


async def test_identity_matching_no_rule_is_403(
    client: TestClient, issuer: Issuer, openbao: DevServer, broker_config: Path
) -> None:
    """A valid token whose claims match no rule: 403 no_matching_rule, nothing created."""
    before = openbao.accessor_count()
    status, body = await open_session(client, issuer.mint(sub="system:serviceaccount:prod:db"))
    assert (status, body["error"]["code"]) == (403, "no_matching_rule")
    assert session_rows(broker_config) == 0 and openbao.accessor_count() == before


async def test_unknown_route_is_a_json_error(client: TestClient) -> None:
    """Even routing errors answer the JSON error shape."""
    resp = await client.get("/v1/nowhere")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_no_token_or_jwt_reaches_logs_or_error_bodies(
    client: TestClient,
    issuer: Issuer,
    stranger_issuer: Issuer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Leak canary: across opens, ends and every rejection, logs and bodies carry no secret."""
    caplog.set_level(logging.DEBUG)
    secrets_seen: list[str] = []
    bodies: list[str] = []
    for _ in range(2):
        jwt = issuer.mint(sub=SUB)
        secrets_seen.append(jwt)
        status, body = await open_session(client, jwt)
        assert status == 201
        secrets_seen.append(body["token"])
        resp = await client.delete(
            f"/v1/sessions/{body['session_id']}",
            headers={"Authorization": f"Bearer {body['token']}"},
        )
        assert resp.status == 204
    for jwt, _code in _bad_tokens(issuer, stranger_issuer).values():
        secrets_seen.append(jwt)
        _, body = await open_session(client, jwt)
        bodies.append(str(body))
    forbidden = await client.delete(
        "/v1/sessions/ses_x", headers={"Authorization": f"Bearer {secrets_seen[1]}"}
    )
    bodies.append(await forbidden.text())
    text = caplog.text + "".join(bodies) + repr(caplog.records)
    for value in secrets_seen:
        assert value not in text
        assert value.split(".")[-1] not in text  # not even a JWT's signature part


async def test_vault_unavailable_is_503_with_its_code(
    aiohttp_client: Any, broker_config: Path, issuer: Issuer
) -> None:
    """With OpenBao unreachable, a valid identity gets 503 vault_unavailable and no session."""
    cfg = settings_mod.load(broker_config, {})
    store = SqliteStore(cfg.sqlite_path)
    backend = OpenBaoBackend(
        "http://127.0.0.1:9", read_token_file(cfg.vault.token_file), timeout_s=2
    )
    client = await aiohttp_client(make_app(cfg, backend, store))
    status, body = await open_session(client, issuer.mint(sub=SUB))
    await backend.close()
    await store.close()
    assert (status, body["error"]["code"]) == (503, "vault_unavailable")
    assert session_rows(broker_config) == 0
    assert os.path.exists(broker_config.parent / "sessions.db")
