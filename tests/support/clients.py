"""How integration tests act as a broker's clients: plain HTTP calls to a running broker, and
`sluice run` / `sluice sidecar` processes pointed at it with an identity token file."""

from __future__ import annotations

import json
import secrets
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO, SLUICE, Proc, wait_until


def http(method: str, url: str, bearer: str | None = None, body: Any = None) -> tuple[int, Any]:
    """One blocking request; returns the status and the JSON body (None when empty), errors
    included, so tests can assert on the broker's error codes."""
    req = urllib.request.Request(
        url, method=method, data=json.dumps(body).encode() if body is not None else None
    )
    if bearer:
        req.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def identity_file(directory: Path, jwt: str) -> Path:
    """The workload's identity token as a 0600 file, as a projected token is mounted."""
    path = directory / "identity.jwt"
    path.write_text(jwt)
    path.chmod(0o600)
    return path


def sluice_run(
    sluice_proc: Callable[..., Proc], broker: str, identity: Path, *command: str
) -> Proc:
    """Start `sluice run --broker URL --identity-token-file PATH -- COMMAND...`."""
    return sluice_proc(
        "run", "--broker", broker, "--identity-token-file", str(identity), "--", *command
    )


def sluice_sidecar(
    sluice_proc: Callable[..., Proc], broker: str, identity: Path, sock: Path
) -> Proc:
    """Start `sluice sidecar` serving on SOCK; does not wait (some tests expect it to fail)."""
    return sluice_proc(
        "sidecar", "--broker", broker, "--identity-token-file", str(identity), "--socket", str(sock)
    )


def wait_for_socket(sidecar: Proc, sock: Path) -> None:
    """Wait until the sidecar is serving on SOCK, failing the test if it exits first."""
    wait_until(lambda: sidecar.popen.poll() is None and sock.exists(), "the sidecar socket")


def socket_get(sock: Path, path: str = "/v1/token") -> tuple[int, Any]:
    """GET PATH from a sidecar's socket: the status and JSON body, errors included."""
    from demo.workload import UnixHTTPConnection

    conn = UnixHTTPConnection(str(sock))
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@dataclass(frozen=True)
class AdminAccess:
    """An admin bearer in a 0600 file and the admin-only unix socket, for a broker config."""

    token_file: Path
    socket: Path

    @classmethod
    def create(cls, directory: Path) -> AdminAccess:
        token_file = directory / "admin-token"
        token_file.write_text(secrets.token_urlsafe(24))
        token_file.chmod(0o600)
        return cls(token_file, directory / "adm" / "admin.sock")

    @property
    def token(self) -> str:
        return self.token_file.read_text()

    @property
    def config(self) -> dict[str, str]:
        return {"token_file": str(self.token_file), "socket": str(self.socket)}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return admin_cli(self.socket, self.token_file, *args)


def admin_cli(sock: Path, token_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`sluice broker sessions --socket SOCK --token-file FILE ARGS...` (list, show, revoke)."""
    return subprocess.run(
        [*SLUICE, "broker", "sessions", "--socket", str(sock), "--token-file", str(token_file),
         *args],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
