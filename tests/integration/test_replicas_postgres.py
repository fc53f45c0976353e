"""Several broker processes on one PostgreSQL store: any replica ends a session another
opened, and when a replica dies its sessions are revoked by the survivors exactly once."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import Scope, broker_healthy, free_port, wait_until
from tests.support.clients import http
from tests.support.postgres import PostgresServer
from tests.support.sessions import BrokerProc, config_text, spawn_broker

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WINDOW_S = 2.0
ORPHANS = 8


def test_replicas_share_sessions_and_revoke_a_dead_replicas_sessions_once(
    short_tmp: Path,
    openbao: DevServer,
    broker_vault_token_file: Path,
    issuer: Issuer,
    scope: Scope,
    postgres_server: PostgresServer,
    postgres_db: str,
) -> None:
    """Open on A, end through B; SIGKILL A: B and C revoke A's lapsed sessions, each once."""
    dbname = psycopg.conninfo.conninfo_to_dict(postgres_db)["dbname"]
    # No password in the config: libpq takes it from the environment.
    dsn, env = postgres_server.broker_dsn(dbname), postgres_server.client_env()
    procs: list[BrokerProc] = []
    try:
        for name in "abc":
            port = free_port()
            cfg = short_tmp / f"{name}.yaml"
            cfg.write_text(
                config_text(
                    vault_addr=openbao.addr,
                    token_file=broker_vault_token_file,
                    issuer_url=issuer.url,
                    policies=[scope.policy],
                    # Replica c names its store on the command line instead (--store wins).
                    store={"dsn": dsn} if name != "c" else {"sqlite_path": str(short_tmp / "x")},
                    port=port,
                    sessions={"heartbeat_window_s": WINDOW_S},
                    reap_interval_s=0.3,
                    extra={"audit": {"path": str(short_tmp / f"{name}.audit")}},
                )
            )
            flags = ("--store", dsn) if name == "c" else ()
            procs.append(spawn_broker(cfg, short_tmp / f"{name}.log", port, env, flags))
        for proc in procs:
            wait_until(lambda p=proc: p.popen.poll() is None and broker_healthy(p.base),  # type: ignore[misc]
                       "replica health", 30)  # fmt: skip
        a, b, c = procs

        status, first = http(
            "POST", a.base + "/v1/sessions", issuer.mint(sub="system:serviceaccount:r:x")
        )
        assert status == 201, first
        beat = http("POST", f"{b.base}/v1/sessions/{first['session_id']}/heartbeat", first["token"])
        assert beat[0] == 200
        assert (
            http("DELETE", f"{b.base}/v1/sessions/{first['session_id']}", first["token"])[0] == 204
        )
        assert openbao.lookup_status(first["token"]) == 403

        orphans = []
        for i in range(ORPHANS):
            status, body = http("POST", a.base + "/v1/sessions",
                                issuer.mint(sub=f"system:serviceaccount:r:{i}"))  # fmt: skip
            assert status == 201, body
            orphans.append(body)
        a.kill()  # no heartbeats will come: the sessions lapse after the window

        wait_until(
            lambda: all(openbao.lookup_status(o["token"]) == 403 for o in orphans),
            "survivors revoke the dead replica's sessions", WINDOW_S + 15,
        )  # fmt: skip
        with psycopg.connect(postgres_db, autocommit=True) as db:
            states = dict(db.execute("SELECT id, state FROM sessions").fetchall())
        assert {states[o["session_id"]] for o in orphans} == {"expired"}
        assert states[first["session_id"]] == "ended"
        b.stop()
        c.stop()
        revoked = Counter(
            m.group(1)
            for proc in (b, c)
            for m in re.finditer(r"session (ses_\S+) revoked cause=expired", proc.output())
        )
        once = {o["session_id"]: 1 for o in orphans}
        assert {sid: revoked[sid] for sid in once} == once
        audited = Counter(
            record["session"]
            for name in "bc"
            for record in map(json.loads, (short_tmp / f"{name}.audit").read_text().splitlines())
            if record["event"] == "revoke" and record.get("cause") == "expired"
        )
        assert {sid: audited[sid] for sid in once} == once
        assert not (short_tmp / "x").exists()  # c used PostgreSQL, not the file's SQLite
        logs = "".join(p.output() for p in procs)
        assert postgres_server.password not in logs
        assert all(o["token"] not in logs for o in orphans)
    finally:
        for proc in procs:
            proc.kill()
