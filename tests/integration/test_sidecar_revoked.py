"""A sidecar whose session the broker revokes stops serving the dead token and exits 4.

Real OpenBao, a real broker process (admin socket on, short heartbeat window) and a real
`sluice sidecar serve` process; the revocation comes from `sluice broker sessions revoke`."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import Proc, Scope, free_port
from tests.support.clients import (
    AdminAccess,
    identity_file,
    sluice_sidecar,
    socket_get,
    wait_for_socket,
)
from tests.support.sessions import write_sqlite_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SUB = "system:serviceaccount:demo:app"
WINDOW_S = 3.0  # the sidecar beats every second
REVOKED_EXIT = 4


def test_revoked_session_is_never_served_again_and_the_sidecar_exits_4(
    start_broker: Callable[[Path], tuple[Proc, str]],
    sluice_proc: Callable[..., Proc],
    short_tmp: Path,
    issuer: Issuer,
    openbao: DevServer,
    broker_vault_token_file: Path,
    scope: Scope,
) -> None:
    """Within a beat of the admin revoke the socket answers 410 session_revoked (never the
    token again), then the sidecar removes its socket and exits 4 without ending the session."""
    admin = AdminAccess.create(short_tmp)
    config = write_sqlite_config(
        short_tmp,
        openbao=openbao,
        token_file=broker_vault_token_file,
        issuer=issuer,
        scope=scope,
        port=free_port(),
        sessions={"heartbeat_window_s": WINDOW_S},
        admin=admin.config,
    )
    broker, base = start_broker(config)
    sock = short_tmp / "run" / "sc.sock"
    sidecar = sluice_sidecar(
        sluice_proc, base, identity_file(short_tmp, issuer.mint(sub=SUB)), sock
    )
    wait_for_socket(sidecar, sock)
    status, answer = socket_get(sock)
    assert status == 200, answer
    token, sid = answer["token"], answer["session_id"]
    assert openbao.api("GET", scope.allowed_path, token=token)[0] == 200

    revoked = admin.cli("revoke", sid)
    assert revoked.returncode == 0, revoked.stderr
    revoked_at = time.monotonic()
    assert openbao.lookup_status(token) == 403  # dead from here on

    answers: list[tuple[float, int, object]] = []  # every answer until the socket is gone
    while time.monotonic() - revoked_at < 15:
        try:
            status, body = socket_get(sock)
        except OSError:
            break
        answers.append((time.monotonic() - revoked_at, status, body))
        time.sleep(0.05)
    first_410 = next((i for i, (_, status, _) in enumerate(answers) if status != 200), None)
    assert first_410 is not None, "the socket kept serving the revoked token"
    noticed_after, _, body = answers[first_410]
    assert noticed_after <= WINDOW_S / 3 + 1.0, noticed_after  # the next beat, plus slack
    assert body["error"]["code"] == "session_revoked", body  # type: ignore[index]
    assert "sidecar will exit" in body["error"]["message"]  # type: ignore[index]
    assert all(status == 410 for _, status, _ in answers[first_410:])
    assert all(token not in str(body) for _, _, body in answers[first_410:])

    assert sidecar.popen.wait(10) == REVOKED_EXIT
    assert not sock.exists()
    out = sidecar.output()
    assert f"ERROR sidecar session {sid} ended at the broker (session_not_active)" in out
    assert "ending session" not in out and "could not end" not in out  # no second goodbye
    broker.stop()
    everything = out + broker.output() + revoked.stdout + revoked.stderr
    assert token not in everything
