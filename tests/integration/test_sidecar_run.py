"""`sluice run -- cmd`: a session exactly as long as one command."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import Proc, Scope
from tests.support.clients import identity_file, sluice_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SUB = "system:serviceaccount:demo:app"

# The child reads the token over $SLUICE_SOCKET, uses it, and writes it where the test can see
# it (only so the test can check revocation afterwards).
CHILD = """
import json, os, sys, urllib.request
sys.path.insert(0, {repo!r})
from demo.workload import token_from_socket
assert not any(v.startswith("s.") for v in os.environ.values()), "token leaked into env"
token = token_from_socket(os.environ["SLUICE_SOCKET"])["token"]
req = urllib.request.Request({addr!r} + "/v1/" + {path!r}, headers={{"X-Vault-Token": token}})
with urllib.request.urlopen(req) as resp:
    assert resp.status == 200
open({out!r}, "w").write(token)
sys.exit(7)
"""


def test_run_serves_the_command_and_ends_the_session_after_it(
    start_broker: Callable[[Path], tuple[Proc, str]],
    sluice_proc: Callable[..., Proc],
    broker_config: Path,
    short_tmp: Path,
    issuer: Issuer,
    openbao: DevServer,
    scope: Scope,
) -> None:
    """The command reads its secret via the socket; its exit code is kept; then 403."""
    _, base = start_broker(broker_config)
    jwt = issuer.mint(sub=SUB)
    identity = identity_file(short_tmp, jwt)
    out = short_tmp / "seen-token"
    script = CHILD.format(
        repo=str(Path(__file__).resolve().parents[2]),
        addr=openbao.addr,
        path=scope.allowed_path,
        out=str(out),
    )
    proc = sluice_run(sluice_proc, base, identity, sys.executable, "-c", script)
    assert proc.popen.wait(60) == 7, proc.output()
    token = out.read_text()
    assert token.startswith("s.")
    assert openbao.lookup_status(token) == 403
    assert token not in proc.output() and jwt not in proc.output()


def test_run_with_a_missing_command_exits_127_and_still_ends_the_session(
    start_broker: Callable[[Path], tuple[Proc, str]],
    sluice_proc: Callable[..., Proc],
    broker_config: Path,
    short_tmp: Path,
    issuer: Issuer,
) -> None:
    """A command that cannot start: exit 127, and the session is ended anyway."""
    _, base = start_broker(broker_config)
    identity = identity_file(short_tmp, issuer.mint(sub=SUB))
    proc = sluice_run(sluice_proc, base, identity, "/nonexistent/command")
    assert proc.popen.wait(60) == 127
    assert "ended" in proc.output()
