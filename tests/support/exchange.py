"""An in-process broker on a real OpenBao, for the identity, policy, audit and attack tests.

``make_broker(rules_yaml, **extra)`` writes a broker.yaml (the trusted ``issuer`` and the
``stranger_issuer`` both configured; audit log on), starts the app with the header limits the
CLI uses, and returns a :class:`Harness` that records every JWT sent and every body received,
so a test can end with :meth:`Harness.assert_no_leaks`.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from broker import settings as settings_mod
from broker.app import make_app
from broker.app_keys import AUDIT
from broker.exchange import HEADER_LIMITS
from broker.store import SessionStore, open_store
from broker.vault import OpenBaoBackend, read_token_file
from demo.issuer import Issuer
from demo.openbao import DevServer

MakeBroker = Callable[..., Awaitable["Harness"]]


@dataclass
class Harness:
    client: TestClient
    openbao: DevServer
    store: SessionStore
    audit_path: Path
    config_path: Path
    sent: list[str] = field(default_factory=list)  # every JWT presented
    issued: list[str] = field(default_factory=list)  # every session token received
    bodies: list[str] = field(default_factory=list)  # every response body received

    async def exchange(self, jwt: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        self.sent.append(jwt)
        resp = await self.client.post("/v1/sessions", headers={"Authorization": f"Bearer {jwt}"})
        text = await resp.text()
        self.bodies.append(text)
        body = json.loads(text) if text else {}
        if resp.status == 201:
            self.issued.append(body["token"])
        return resp.status, body, dict(resp.headers)

    async def code_of(self, jwt: str) -> str:
        status, body, _ = await self.exchange(jwt)
        assert status >= 400, f"expected a refusal, got {status}"
        return str(body["error"]["code"])

    async def counts(self) -> tuple[int, int, int]:
        """(session rows, OpenBao token accessors, per-session ACL policies), seen by root."""
        policies = self.openbao.ok("LIST", "sys/policies/acl")["data"]["keys"]
        session_policies = sum(1 for p in policies if p.startswith("sluice-session-"))
        return await self.store.count(), self.openbao.accessor_count(), session_policies

    async def metrics(self) -> str:
        resp = await self.client.get("/metrics")
        assert resp.status == 200
        text = await resp.text()
        self.bodies.append(text)
        return text

    def audit_records(self) -> list[dict[str, Any]]:
        audit = self.client.app.get(AUDIT)
        if audit is not None:
            assert audit.flush(), "audit writer did not drain"
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]

    def assert_no_leaks(self, logs: str) -> None:
        """No JWT or issued token in audit lines, logs, error bodies or metrics."""
        haystacks = {
            "audit": self.audit_path.read_text() if self.audit_path.exists() else "",
            "logs": logs,
            "bodies": "\n".join(b for b in self.bodies if '"token"' not in b),
        }
        for secret in [*self.sent, *self.issued]:
            needles = {secret, *(part for part in secret.split(".") if len(part) >= 16)}
            for where, text in haystacks.items():
                for needle in needles:
                    assert needle not in text, f"a credential leaked into {where}"


def broker_yaml(
    openbao: DevServer,
    token_file: Path,
    workdir: Path,
    issuers: list[tuple[str, str]],
    rules: str,
    extra: str = "",
) -> str:
    lines = [
        f"vault: {{addr: '{openbao.addr}', token_file: '{token_file}', token_role: sluice}}",
        f"store: {{sqlite_path: '{workdir / 'sessions.db'}'}}",
        f"audit: {{path: '{workdir / 'audit.jsonl'}'}}",
        "jwks_min_refresh_s: 1",
        "issuers:",
        *(
            f"  - {{name: {name}, issuer: '{url}', audiences: [sluice]}}" if url else f"  - {name}"
            for name, url in issuers  # ("{...flow mapping...}", "") passes a raw entry through
        ),
    ]
    return "\n".join(lines) + "\n" + rules + extra


@pytest.fixture
async def make_broker(
    aiohttp_client: Any,
    tmp_path: Path,
    openbao: DevServer,
    broker_vault_token_file: Path,
    issuer: Issuer,
    stranger_issuer: Issuer,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[MakeBroker]:
    """Start brokers on demand; each gets its own directory, store and audit log."""
    caplog.set_level(logging.DEBUG)
    stores: list[SessionStore] = []
    backends: list[OpenBaoBackend] = []
    clients: list[TestClient] = []

    async def make(
        rules: str,
        extra: str = "",
        issuers: list[tuple[str, str]] | None = None,
        workdir: Path | None = None,  # reuse one: a restart on the same store and audit log
    ) -> Harness:
        workdir = workdir or tmp_path / secrets.token_hex(3)
        workdir.mkdir(exist_ok=True)
        config = workdir / "broker.yaml"
        config.write_text(
            broker_yaml(
                openbao,
                broker_vault_token_file,
                workdir,
                issuers or [("trusted", issuer.url), ("stranger", stranger_issuer.url)],
                rules,
                extra,
            )
        )
        cfg = settings_mod.load(config, {})
        store = await open_store(cfg.store_location)
        stores.append(store)
        backend = OpenBaoBackend(
            cfg.vault.addr, read_token_file(cfg.vault.token_file), cfg.vault.token_role
        )
        backends.append(backend)
        server = TestServer(make_app(cfg, backend, store), host="127.0.0.1")
        await server.start_server(**HEADER_LIMITS)  # TestServer(**kwargs) would drop them
        client = await aiohttp_client(server)
        clients.append(client)
        return Harness(client, openbao, store, workdir / "audit.jsonl", config)

    yield make
    for client in clients:  # the app's own cleanup still needs its store and OpenBao client
        await client.close()
    for backend in backends:
        await backend.close()
    for store in stores:
        await store.close()
