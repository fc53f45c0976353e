"""The sidecar as a real process next to a real broker process and OpenBao."""

from __future__ import annotations

import signal
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from demo.workload import token_from_socket
from tests.conftest import Proc, Scope
from tests.support.clients import identity_file, sluice_sidecar, wait_for_socket

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SUB = "system:serviceaccount:demo:app"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sidecar_serves_the_session_and_ends_it_on_signal(
    sig: signal.Signals,
    start_broker: Callable[[Path], tuple[Proc, str]],
    sluice_proc: Callable[..., Proc],
    broker_config: Path,
    short_tmp: Path,
    issuer: Issuer,
    openbao: DevServer,
    scope: Scope,
) -> None:
    """Token over a 0600 socket in a 0700 dir; on the signal: session ended, socket gone, exit 0."""
    broker, base = start_broker(broker_config)
    jwt = issuer.mint(sub=SUB)
    sock = short_tmp / "run" / "sc.sock"
    sidecar = sluice_sidecar(sluice_proc, base, identity_file(short_tmp, jwt), sock)
    wait_for_socket(sidecar, sock)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700

    answer = token_from_socket(str(sock))
    token = answer["token"]
    assert token.startswith("s.") and answer["session_id"].startswith("ses_")
    assert openbao.api("GET", scope.allowed_path, token=token)[0] == 200
    assert openbao.api("GET", scope.denied_path, token=token)[0] == 403

    assert sidecar.stop(sig) == 0
    assert not sock.exists()
    assert openbao.lookup_status(token) == 403
    assert openbao.api("GET", scope.allowed_path, token=token)[0] == 403
    with sqlite3.connect(broker_config.parent / "sessions.db") as db:
        (state,) = db.execute(
            "SELECT state FROM sessions WHERE id = ?", (answer["session_id"],)
        ).fetchone()
    assert state == "ended"

    broker.stop()
    logs = sidecar.output() + broker.output()
    assert answer["session_id"] in sidecar.output()
    assert token not in logs and jwt not in logs and "Traceback" not in logs


def test_sidecar_with_a_rejected_identity_exits_1_without_a_socket(
    start_broker: Callable[[Path], tuple[Proc, str]],
    sluice_proc: Callable[..., Proc],
    broker_config: Path,
    short_tmp: Path,
    issuer: Issuer,
) -> None:
    """An expired identity token: the broker's code on stderr, exit 1, no socket served."""
    _, base = start_broker(broker_config)
    jwt = issuer.mint(sub=SUB, ttl_s=-3600)
    sock = short_tmp / "run" / "sc.sock"
    sidecar = sluice_sidecar(sluice_proc, base, identity_file(short_tmp, jwt), sock)
    assert sidecar.popen.wait(30) == 1
    assert "expired_token" in sidecar.output()
    assert jwt not in sidecar.output()
    assert not sock.exists()


def test_sidecar_refuses_a_socket_dir_others_can_enter(
    sluice_proc: Callable[..., Proc], short_tmp: Path, issuer: Issuer
) -> None:
    """A group/world-accessible socket directory is refused before any session is opened."""
    open_dir = short_tmp / "open"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    sidecar = sluice_sidecar(
        sluice_proc,
        "http://127.0.0.1:9",
        identity_file(short_tmp, issuer.mint(sub=SUB)),
        open_dir / "sc.sock",
    )
    assert sidecar.popen.wait(30) == 2
    assert "insecure_socket_dir" in sidecar.output()
    assert not (open_dir / "sc.sock").exists()
