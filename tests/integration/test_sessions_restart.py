"""The broker as a real process: sessions survive a restart on the same SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import Proc, Scope
from tests.support.clients import http

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SUB = "system:serviceaccount:demo:app"


def test_restarted_broker_ends_a_session_opened_before_restart(
    start_broker: Callable[[Path], tuple[Proc, str]],
    broker_config: Path,
    issuer: Issuer,
    openbao: DevServer,
    scope: Scope,
) -> None:
    """Open a session, restart the broker on the same SQLite file, DELETE still revokes it."""
    jwt = issuer.mint(sub=SUB)
    first, base = start_broker(broker_config)
    status, body = http("POST", base + "/v1/sessions", jwt)
    assert status == 201, body
    token = body["token"]
    assert openbao.api("GET", scope.allowed_path, token=token)[0] == 200
    assert first.stop() == 0

    second, base = start_broker(broker_config)
    status, _ = http("DELETE", f"{base}/v1/sessions/{body['session_id']}", token)
    assert status == 204
    assert openbao.lookup_status(token) == 403
    assert openbao.api("GET", scope.allowed_path, token=token)[0] == 403
    assert second.stop() == 0

    logs = first.output() + second.output()
    assert "broker listening on" in logs
    assert token not in logs and jwt not in logs
    assert "Traceback" not in logs


def test_config_problems_are_reported_together_with_exit_2(
    sluice_proc: Callable[..., Proc], short_tmp: Path
) -> None:
    """A bad config file: every problem named on stderr, exit code 2, nothing served."""
    bad = short_tmp / "bad.yaml"
    bad.write_text("listen: {host: 0.0.0.0x, port: 99999}\nvault: {}\nissuers: []\n")
    proc = sluice_proc("broker", "serve", "--config", str(bad))
    assert proc.popen.wait(30) == 2
    out = proc.output()
    for field in (
        "listen.host",
        "listen.port",
        "vault.addr",
        "vault.token_file",
        "store.sqlite_path",
        "issuers",
        "rules",
    ):
        assert f"config error: {field}:" in out
