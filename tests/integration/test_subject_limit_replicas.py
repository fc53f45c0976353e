"""A rule's ``max_sessions_per_subject`` is exact across broker replicas on one PostgreSQL.

Two real `sluice broker serve` processes share one database, reached through a loopback proxy
that holds every answer back by DB_DELAY_S, as a database a network hop away does. That widens
the gap between "count the subject's sessions" and "write the intent row" to tens of
milliseconds: a check-then-insert split over two statements (the broker before the store made
them one step) lets both replicas see room for the same place, and this test sees 4 sessions.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import Scope, broker_healthy, free_port, wait_until
from tests.support.clients import http
from tests.support.postgres import PostgresServer
from tests.support.sessions import BrokerProc, DelayProxy, config_text, spawn_broker

pytestmark = [pytest.mark.integration, pytest.mark.slow]
LIMIT = 3
BURST = 20
DB_DELAY_S = 0.02
SUB = "system:serviceaccount:limit:worker"
OTHER = "system:serviceaccount:limit:other"


def live_tokens_by_subject(openbao: DevServer, store_id: str) -> Counter[str]:
    """How many live OpenBao tokens this store issued, per ``subject`` metadata (root view)."""
    listing = openbao.ok("LIST", "auth/token/accessors")["data"]["keys"]
    found: Counter[str] = Counter()
    for accessor in listing:
        status, info = openbao.api("POST", "auth/token/lookup-accessor", {"accessor": accessor})
        meta = (info["data"].get("meta") or {}) if status == 200 else {}
        if meta.get("sluice_store") == store_id:
            found[meta["subject"]] += 1
    return found


def test_two_replicas_open_exactly_the_limit_for_one_subject(
    short_tmp: Path,
    openbao: DevServer,
    broker_vault_token_file: Path,
    issuer: Issuer,
    scope: Scope,
    postgres_server: PostgresServer,
    postgres_db: str,
) -> None:
    """20 racing opens over two replicas: 3 × 201, 17 × 429; ending one makes room for one."""
    dbname = psycopg.conninfo.conninfo_to_dict(postgres_db)["dbname"]
    proxy = DelayProxy(postgres_server.port, DB_DELAY_S)
    dsn = postgres_server.broker_dsn(dbname, port=proxy.port)
    env = postgres_server.client_env()
    rule = {
        "name": "limited", "issuer": issuer.url, "match": {"sub": "system:serviceaccount:limit:*"},
        "policies": [scope.policy], "ttl": "300s", "max_sessions_per_subject": LIMIT,
    }  # fmt: skip
    procs: list[BrokerProc] = []
    try:
        for name in "ab":
            port = free_port()
            cfg = short_tmp / f"{name}.yaml"
            cfg.write_text(
                config_text(
                    vault_addr=openbao.addr,
                    token_file=broker_vault_token_file,
                    issuer_url=issuer.url,
                    policies=[scope.policy],
                    store={"dsn": dsn},
                    port=port,
                    extra={"rules": [rule]},
                )
            )
            procs.append(spawn_broker(cfg, short_tmp / f"{name}.log", port, env))
        for proc in procs:
            wait_until(lambda p=proc: p.popen.poll() is None and broker_healthy(p.base),  # type: ignore[misc]
                       "replica health", 30)  # fmt: skip
        a, b = procs

        # Every request its own token (its own jti), minted before the burst starts.
        burst = [(procs[i % 2].base, issuer.mint(sub=SUB)) for i in range(BURST)]
        burst += [(procs[i % 2].base, issuer.mint(sub=OTHER)) for i in range(2)]

        def post(target: tuple[str, str]) -> tuple[int, Any]:
            return http("POST", target[0] + "/v1/sessions", target[1])

        with ThreadPoolExecutor(len(burst)) as pool:
            answers = list(pool.map(post, burst))
        mine, other = answers[:BURST], answers[BURST:]
        opened = [body for status, body in mine if status == 201]
        refused = Counter((status, body["error"]["code"]) for status, body in mine if status != 201)
        assert len(opened) == LIMIT, refused
        assert refused == {(429, "too_many_sessions"): BURST - LIMIT}
        assert [status for status, _ in other] == [201, 201]  # another subject is unaffected

        with psycopg.connect(postgres_db, autocommit=True) as db:
            store_id = db.execute("SELECT value FROM store_info WHERE key = 'store_id'").fetchone()
        assert store_id is not None
        assert live_tokens_by_subject(openbao, store_id[0]) == {SUB: LIMIT, OTHER: 2}

        # Ending one session (through the other replica) frees exactly one place.
        first = opened[0]
        gone = http("DELETE", f"{b.base}/v1/sessions/{first['session_id']}", first["token"])
        assert gone[0] == 204
        assert openbao.lookup_status(first["token"]) == 403
        status, again = http("POST", a.base + "/v1/sessions", issuer.mint(sub=SUB))
        assert status == 201, again
        status, full = http("POST", b.base + "/v1/sessions", issuer.mint(sub=SUB))
        assert (status, full["error"]["code"]) == (429, "too_many_sessions")
        assert live_tokens_by_subject(openbao, store_id[0])[SUB] == LIMIT

        logs = "".join(p.output() for p in procs)
        assert postgres_server.password not in logs
        assert all(s["token"] not in logs for s in [*opened, again])
    finally:
        for proc in procs:
            proc.kill()
        proxy.close()
