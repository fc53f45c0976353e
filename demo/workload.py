"""The demo workload: fetch the session token over the sidecar's socket, read a KV secret;
run as ``python -m demo.workload FILE`` it is the careless job of the redaction step."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import sys
from typing import Any


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 5.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()  # not ours to leak when the sidecar is not listening yet
            raise
        self.sock = sock


def token_from_socket(socket_path: str) -> dict[str, Any]:
    conn = UnixHTTPConnection(socket_path)
    try:
        conn.request("GET", "/v1/token")
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    if resp.status != 200:
        raise RuntimeError(f"sidecar answered {resp.status}: {body.get('error', {}).get('code')}")
    return dict(body)


def mask(value: str) -> str:
    """Show the shape, never the value."""
    return "*" * min(len(value), 12) if value else ""


def leak(token_out: str) -> int:
    """The careless CI job of the demo's redaction step: it prints its session token (plain,
    in a JSON dump, base64 inside a Basic header) and a provider token it was given, as a
    debug line would. It keeps the token in a 0400 file only so the demo can prove that none
    of these forms reached the terminal and that the token is dead afterwards."""
    token = str(token_from_socket(os.environ["SLUICE_SOCKET"])["token"])
    fd = os.open(token_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    basic = base64.b64encode(f"ci:{token}".encode()).decode()
    print(f"debug: token={token}", flush=True)
    print(f"debug: response {json.dumps({'auth': {'client_token': token}})}", flush=True)
    print(f"debug: Authorization: Basic {basic}", flush=True)
    print(f"debug: GITHUB_TOKEN={os.environ['DEMO_GITHUB_TOKEN']}", file=sys.stderr, flush=True)
    print("deploy finished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(leak(sys.argv[1]))
