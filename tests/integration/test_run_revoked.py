"""`sluice run` whose session the broker revokes while the command runs: the command is
stopped (its credentials are dead), one line says why, and `sluice run` exits 4; the
command's output stays redacted throughout. Real OpenBao and a real broker process."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import REPO, Proc, Scope, free_port, wait_until
from tests.support.clients import AdminAccess, identity_file, sluice_run
from tests.support.sessions import write_sqlite_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SUB = "system:serviceaccount:demo:job"
WINDOW_S = 3.0  # sluice run beats every second
REVOKED_EXIT = 4

# A long job: it fetches its token, prints it (the redactor must mask it), keeps the token and
# session id in files only for the test, then works until it is told to stop.
LONG_JOB = """
import os, signal, sys, time
sys.path.insert(0, {repo!r})
from demo.workload import token_from_socket
answer = token_from_socket(os.environ["SLUICE_SOCKET"])
def stopped(*_):
    open({marker!r}, "w").write("SIGTERM")
    print("job: got SIGTERM, stopping", flush=True)
    sys.exit(143)
signal.signal(signal.SIGTERM, stopped)
print("job: using token", answer["token"], flush=True)
open({out!r}, "w").write(answer["token"] + " " + answer["session_id"])
while True:
    time.sleep(0.1)
"""


def test_revoked_session_stops_the_command_and_exits_4(
    sluice_proc: Callable[..., Proc],
    start_broker: Callable[[Path], tuple[Proc, str]],
    short_tmp: Path,
    issuer: Issuer,
    openbao: DevServer,
    broker_vault_token_file: Path,
    scope: Scope,
) -> None:
    """Admin revoke mid-run: the command gets SIGTERM within a beat, `sluice run` says why on
    stderr and exits 4, and the token never shows in the output."""
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
    out, marker = short_tmp / "seen", short_tmp / "stopped"
    script = LONG_JOB.format(repo=str(REPO), out=str(out), marker=str(marker))
    identity = identity_file(short_tmp, issuer.mint(sub=SUB))
    run = sluice_run(sluice_proc, base, identity, sys.executable, "-c", script)
    wait_until(lambda: len(out.read_text().split()) == 2, "the job's token", 30)
    token, sid = out.read_text().split()

    revoked = admin.cli("revoke", sid)
    assert revoked.returncode == 0, revoked.stderr
    revoked_at = time.monotonic()
    assert run.popen.wait(15) == REVOKED_EXIT, run.output()
    took = time.monotonic() - revoked_at
    assert took <= WINDOW_S / 3 + 2.0, took  # the next beat, then a prompt SIGTERM
    assert marker.read_text() == "SIGTERM"  # asked to stop, not killed outright

    output = run.output()
    why = [line for line in output.splitlines() if " ERROR " in line or " WARNING " in line]
    assert len(why) == 1, output
    assert f"session {sid} ended at the broker (session_not_active)" in why[0]
    assert "SIGTERM" in why[0] and "exit code 4" in why[0]
    assert "job: got SIGTERM, stopping" in output  # output after the stop still gets through
    assert "job: using token [REDACTED:" in output
    assert "ending session" not in output  # the ended session is not ended twice
    broker.stop()
    everything = output + broker.output() + revoked.stdout + revoked.stderr
    assert token not in everything and identity.read_text() not in everything
