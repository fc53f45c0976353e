"""Project-wide fixtures: OpenBao dev server, OIDC issuers, broker configs and processes."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.support.issuer import issuer, stranger_issuer
from tests.support.openbao import broker_vault_token, broker_vault_token_file, openbao

__all__ = [
    "broker_vault_token",
    "broker_vault_token_file",
    "issuer",
    "openbao",
    "stranger_issuer",
]

REPO = Path(__file__).resolve().parent.parent
_SCRIPT = Path(sys.executable).parent / "sluice"
SLUICE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "sluice_cli"]


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temp dir short enough for unix sockets (sun_path is capped at 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="sl-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Scope:
    """One test's own slice of OpenBao: a policy and the KV paths it may and may not read."""

    policy: str
    allowed_path: str  # KV v2 API path, e.g. secret/data/<x>/db
    denied_path: str
    ttl_s: int = 300


@pytest.fixture
def scope(openbao: DevServer) -> Scope:
    name = "t" + secrets.token_hex(4)
    policy = f"sluice-{name}"
    openbao.put_policy(policy, f'path "secret/data/{name}/*" {{ capabilities = ["read"] }}')
    openbao.kv_put(f"{name}/db", {"password": "allowed-" + secrets.token_hex(4)})
    openbao.kv_put(f"{name}-other/db", {"password": "denied-" + secrets.token_hex(4)})
    return Scope(policy, f"secret/data/{name}/db", f"secret/data/{name}-other/db")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_broker_config(
    path: Path, openbao: DevServer, token_file: Path, issuer: Issuer, scope: Scope, port: int = 0
) -> Path:
    path.write_text(
        f"listen: {{host: 127.0.0.1, port: {port}}}\n"
        f"vault: {{addr: '{openbao.addr}', token_file: '{token_file}', token_role: sluice}}\n"
        f"store: {{sqlite_path: '{path.parent / 'sessions.db'}'}}\n"
        f"issuers:\n  - issuer: '{issuer.url}'\n    audiences: [sluice]\n"
        f"rules:\n"
        f"  - name: nobody\n    issuer: '{issuer.url}'\n    match: {{sub: 'nobody'}}\n"
        f"    policies: [sluice-none]\n"
        f"  - name: app\n    issuer: '{issuer.url}'\n"
        f"    match: {{sub: 'system:serviceaccount:demo:*'}}\n"
        f"    policies: ['{scope.policy}']\n    ttl: {scope.ttl_s}s\n"
    )
    return path


@pytest.fixture
def broker_config(
    short_tmp: Path,
    openbao: DevServer,
    broker_vault_token_file: Path,
    issuer: Issuer,
    scope: Scope,
) -> Path:
    return write_broker_config(
        short_tmp / "broker.yaml", openbao, broker_vault_token_file, issuer, scope, free_port()
    )


@dataclass
class Proc:
    """A `sluice ...` subprocess whose whole output is kept (for leak canaries)."""

    popen: subprocess.Popen[bytes]
    log: Path
    outputs: list[str] = field(default_factory=list)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 15.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def sluice_proc(short_tmp: Path) -> Iterator[Callable[..., Proc]]:
    """Start `sluice <args>` with output captured to a file; every one is stopped at teardown."""
    started: list[Proc] = []

    def start(*args: str) -> Proc:
        log = short_tmp / f"proc{len(started)}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        with log.open("wb") as sink:  # the child keeps its own descriptor
            popen = subprocess.Popen(
                [*SLUICE, *args],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        proc = Proc(popen, log)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def broker_healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/healthz", timeout=2) as resp:
            return int(resp.status) == 200
    except urllib.error.HTTPError:
        return False


@pytest.fixture
def start_broker(sluice_proc: Callable[..., Proc]) -> Callable[[Path], tuple[Proc, str]]:
    """Run `sluice broker serve --config PATH` as a real process; returns it and its base URL."""

    def start(config: Path) -> tuple[Proc, str]:
        import yaml

        port = int(yaml.safe_load(config.read_text())["listen"]["port"])
        proc = sluice_proc("broker", "serve", "--config", str(config))
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: proc.popen.poll() is None and broker_healthy(base), "broker health")
        return proc, base

    return start
