"""Sluice's own logs go through its own redactor: the broker's OpenBao token and the sidecar's
session values are masked by value, even when they have no recognisable format.

Each process is the real CLI (`sluice broker serve`, `sluice sidecar`, `sluice run`) started
from a small wrapper that, once the test hands it the live secret values, logs them through
an ordinary logger, as a careless debug line or an exception message would.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from demo.workload import token_from_socket
from tests.conftest import (
    REPO,
    Scope,
    broker_healthy,
    free_port,
    wait_until,
    write_broker_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SUB = "system:serviceaccount:demo:app"

WRAPPER = """
import json, logging, os, sys, threading, time

def leak():
    deadline = time.monotonic() + 30
    while not os.path.exists({probe!r}):
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)
    values = json.load(open({probe!r}))
    log = logging.getLogger("sluice.probe")
    for label, value in values.items():
        log.warning("probe %s=%s quoted=%s", label, value, json.dumps({{"v": value}}))
    try:
        raise RuntimeError("upstream rejected " + " ".join(values.values()))
    except RuntimeError:
        log.exception("probe failure")
    print("PROBE-DONE", file=sys.stderr, flush=True)

threading.Thread(target=leak, daemon=True).start()
from {module} import {command} as main
main({args!r})
"""


class Wrapped:
    """A real CLI command in a subprocess with the leaking thread beside it."""

    def __init__(self, work: Path, module: str, command: str, args: list[str]) -> None:
        self.probe = work / "probe.json"
        self.log = work / f"{command}.log"
        script = WRAPPER.format(probe=str(self.probe), module=module, command=command, args=args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        with self.log.open("wb") as sink:
            self.popen = subprocess.Popen(
                [sys.executable, "-c", script],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def leak(self, values: dict[str, str]) -> str:
        """Have the process log `values`; returns its whole output once it has."""
        tmp = self.probe.with_suffix(".tmp")
        tmp.write_text(json.dumps(values))
        tmp.rename(self.probe)
        wait_until(lambda: "PROBE-DONE" in self.output(), "the probe log lines")
        return self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode


@pytest.fixture
def wrapped(short_tmp: Path) -> Iterator[list[Wrapped]]:
    started: list[Wrapped] = []
    yield started
    for proc in started:
        proc.stop()


def assert_masked(output: str, values: dict[str, str]) -> None:
    for value in values.values():
        assert value not in output
        assert json.dumps(value)[1:-1] not in output
    assert "probe failure" in output and "Traceback" in output  # the exception was logged...
    assert "[REDACTED:known-value]" in output  # ...and the values were masked by value


def test_broker_log_masks_its_own_formatless_openbao_token(
    openbao: DevServer, issuer: Issuer, scope: Scope, short_tmp: Path, wrapped: list[Wrapped]
) -> None:
    """A broker token with no recognisable format (custom id) never reaches the broker's log."""
    token = secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
    openbao.ok(
        "POST",
        "auth/token/create",
        {
            "id": token,
            "policies": ["sluice-broker"],
            "period": "1h",
            "no_default_policy": True,
        },
    )
    token_file = short_tmp / "broker-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    port = free_port()
    config = write_broker_config(
        short_tmp / "broker.yaml", openbao, token_file, issuer, scope, port
    )
    proc = Wrapped(short_tmp, "broker.cli", "broker", ["serve", "--config", str(config)])
    wrapped.append(proc)
    # Healthy, not just "listening": the signal handlers are in place once it serves.
    wait_until(lambda: broker_healthy(f"http://127.0.0.1:{port}"), "the broker")
    values = {"a": token}
    output = proc.leak(values)
    assert proc.stop() == 0, output
    assert_masked(proc.output(), values)


def _session_values(openbao: DevServer, socket_path: Path) -> dict[str, str]:
    token = str(token_from_socket(str(socket_path))["token"])
    accessor = openbao.ok("POST", "auth/token/lookup", {"token": token})["data"]["accessor"]
    return {"a": token, "b": str(accessor)}


@pytest.mark.parametrize("command", ["sidecar", "run"])
def test_sidecar_and_run_logs_mask_the_session_token_and_accessor(
    command: str,
    start_broker,  # type: ignore[no-untyped-def]
    broker_config: Path,
    openbao: DevServer,
    issuer: Issuer,
    short_tmp: Path,
    wrapped: list[Wrapped],
) -> None:
    """The session token and its (format-less) accessor are masked in the sidecar's own log."""
    _, base = start_broker(broker_config)
    identity = short_tmp / "id.jwt"
    identity.write_text(issuer.mint(sub=SUB))
    sock = short_tmp / "run" / "s.sock"
    released = short_tmp / "released"
    args = ["--broker", base, "--identity-token-file", str(identity), "--socket", str(sock)]
    if command == "run":
        wait = f"import os, time\nwhile not os.path.exists({str(released)!r}): time.sleep(0.05)"
        args += ["--", sys.executable, "-c", wait]
    proc = Wrapped(short_tmp, "sidecar.cli", command, args)
    wrapped.append(proc)
    values: dict[str, str] = {}
    # The socket file appears at bind, a moment before the server accepts: retry until it does.
    wait_until(lambda: bool(values.update(_session_values(openbao, sock)) or values), "the socket")
    proc.leak(values)
    released.touch()
    code = proc.popen.wait(30) if command == "run" else proc.stop()  # run ends with its command
    assert code == 0, proc.output()
    assert_masked(proc.output(), values)
    assert openbao.lookup_status(values["a"]) == 403
