"""A non-dev OpenBao server on raft storage, for outage and restart tests.

Invariants:
- Storage is raft in a temp dir (OpenBao 2.7 has no ``file`` backend); the listener is
  plain HTTP on 127.0.0.1 at a free port, cluster traffic on another free port.
- The first ``start()`` initialises with one key share and unseals; later ``start()``
  calls reuse the same storage, ports and unseal key, so ``stop()``/``start()`` is an
  outage and a recovery of the same server.
- Every wait is bounded; ``close()`` stops the process and removes the temp dir.

``RaftOpenBao`` works outside pytest (bench scripts); ``openbao_raft`` is the pytest fixture.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

from demo.openbao import bao_binary
from tests.conftest import free_port


class OpenBaoFixtureError(RuntimeError):
    """The test OpenBao server could not be found, started, initialised or unsealed."""


class RaftOpenBao:
    """One OpenBao node on raft storage; start()/stop() may be repeated, close() ends it."""

    def __init__(self, *, startup_timeout_s: float = 30.0) -> None:
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self.cluster_port = 0
        self.root_token = ""
        self.unseal_key = ""
        self.base_dir: Path | None = None
        self.startup_s = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def __repr__(self) -> str:
        return f"RaftOpenBao(addr={self.addr!r}, running={self.running})"

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start (first time: create, initialise) and unseal; return once the node is active."""
        started = time.monotonic()
        if self.base_dir is None:
            self._create()
        self._spawn()
        try:
            health = self._wait_health(lambda status: status in (200, 501, 503))
            if health == 501:
                self._initialise()
            if self._health_status() != 200:
                self._api("PUT", "/v1/sys/unseal", {"key": self.unseal_key}, token=None)
            # Raft elects itself leader shortly after unseal; 200 means active and unsealed.
            self._wait_health(lambda status: status == 200)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started

    def stop(self, *, graceful: bool = True) -> None:
        """Stop the process, keeping storage for a later start().

        ``graceful=False`` is SIGKILL: a crash, and ~1 s quicker than raft's orderly shutdown.
        """
        if self._proc is not None:
            if graceful:
                self._proc.terminate()
            else:
                self._proc.kill()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        self.stop(graceful=False)  # the storage is thrown away next
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _create(self) -> None:
        self.base_dir = Path(tempfile.mkdtemp(prefix="sluice-bao-"))
        (self.base_dir / "raft").mkdir()
        self.port = free_port()
        self.cluster_port = free_port()
        while self.cluster_port == self.port:
            self.cluster_port = free_port()
        config = f"""
storage "raft" {{
  path = "{self.base_dir / "raft"}"
  node_id = "sluice-test"
  performance_multiplier = 1
}}
listener "tcp" {{
  address = "127.0.0.1:{self.port}"
  cluster_address = "127.0.0.1:{self.cluster_port}"
  tls_disable = true
}}
api_addr = "http://127.0.0.1:{self.port}"
cluster_addr = "http://127.0.0.1:{self.cluster_port}"
ui = false
log_level = "warn"
"""
        (self.base_dir / "config.hcl").write_text(config)

    def _spawn(self) -> None:
        assert self.base_dir is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        self._log = open(self.base_dir / "server.log", "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            [bao_binary(), "server", f"-config={self.base_dir / 'config.hcl'}"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def _initialise(self) -> None:
        body = self._api("PUT", "/v1/sys/init", {"secret_shares": 1, "secret_threshold": 1}, None)
        self.unseal_key = body["keys_base64"][0]
        self.root_token = body["root_token"]

    def _health_status(self) -> int | None:
        try:
            with urllib.request.urlopen(self.addr + "/v1/sys/health", timeout=2) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return None

    def _wait_health(self, ok: Any) -> int:
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            if not self.running:
                raise OpenBaoFixtureError(f"OpenBao exited early; see {self.base_dir}/server.log")
            status = self._health_status()
            if status is not None and ok(status):
                return status
            if time.monotonic() > deadline:
                raise OpenBaoFixtureError(f"OpenBao not ready in time (last health: {status})")
            time.sleep(0.05)

    def _api(self, method: str, path: str, body: dict[str, Any], token: str | None) -> Any:
        req = urllib.request.Request(
            self.addr + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={
                "Content-Type": "application/json",
                **({"X-Vault-Token": token} if token else {}),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            # The error body names the failure; it carries no key or token.
            raise OpenBaoFixtureError(
                f"{method} {path}: HTTP {exc.code} {exc.read()[:500]!r}"
            ) from None
        return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def openbao_raft() -> Iterator[RaftOpenBao]:
    """A raft-backed OpenBao per test module (tests stop/start it, so it is not shared)."""
    server = RaftOpenBao()
    problem = ""
    try:
        server.start()
    except OpenBaoFixtureError as exc:
        problem = str(exc)
    if problem:
        server.close()
        pytest.fail(problem, pytrace=False)
    try:
        yield server
    finally:
        server.close()
