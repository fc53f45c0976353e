"""Heartbeats end to end: a live sidecar keeps its session past several windows; a sidecar
killed with SIGKILL (no goodbye) has its session revoked once the window lapses."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from demo.workload import token_from_socket
from tests.conftest import Proc, Scope, free_port, wait_until
from tests.support.clients import identity_file, sluice_sidecar, wait_for_socket
from tests.support.sessions import write_sqlite_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SUB = "system:serviceaccount:demo:app"
WINDOW_S = 2.0
REAP_S = 0.5


def state_of(db: Path, session_id: str) -> str:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return str(row[0])


def test_killed_sidecar_session_is_revoked_after_the_heartbeat_window(
    start_broker: Callable[[Path], tuple[Proc, str]],
    sluice_proc: Callable[..., Proc],
    short_tmp: Path,
    issuer: Issuer,
    openbao: DevServer,
    broker_vault_token_file: Path,
    scope: Scope,
) -> None:
    """Alive for > 2 windows while beating; revoked within window + 2 reaper passes of SIGKILL."""
    config = write_sqlite_config(
        short_tmp,
        openbao=openbao,
        token_file=broker_vault_token_file,
        issuer=issuer,
        scope=scope,
        port=free_port(),
        sessions={"heartbeat_window_s": WINDOW_S},
        reap_interval_s=REAP_S,
    )
    broker, base = start_broker(config)
    ident = identity_file(short_tmp, issuer.mint(sub=SUB))
    sock = short_tmp / "run" / "sc.sock"
    sidecar = sluice_sidecar(sluice_proc, base, ident, sock)
    wait_for_socket(sidecar, sock)
    answer = token_from_socket(str(sock))
    token, sid = answer["token"], answer["session_id"]

    time.sleep(2.5 * WINDOW_S)  # without heartbeats the session would have lapsed by now
    assert state_of(short_tmp / "s.db", sid) == "active"
    assert openbao.api("GET", scope.allowed_path, token=token)[0] == 200

    sidecar.stop(signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: openbao.lookup_status(token) == 403, "revocation", WINDOW_S + 10)
    took = time.monotonic() - killed_at
    assert took <= WINDOW_S + 2 * REAP_S + 1.5, took
    assert state_of(short_tmp / "s.db", sid) == "expired"
    broker.stop()
    assert token not in broker.output() + sidecar.output()
