"""The demo workload: fetch the session token over the sidecar's socket, read a KV secret."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 5.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
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
