"""``sluice broker sessions list|show|revoke``: the admin API from a shell.

Talks to a running broker (TCP ``--url`` or the admin unix ``--socket``) with the admin
credential read from ``--token-file``; the credential never appears in argv. Exit codes:
0 done, 1 OpenBao has not confirmed every revocation yet (sessions left ``ending``; the
broker keeps retrying), 2 usage, credential or connection error.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import click

ADMIN_PATH = "/v1/admin/sessions"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class AdminClient:
    def __init__(self, url: str, unix_socket: str | None, token: str, timeout_s: float) -> None:
        self._url, self._socket, self._token, self._timeout = url, unix_socket, token, timeout_s

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if self._socket:
            conn: http.client.HTTPConnection = _UnixConnection(self._socket, self._timeout)
        else:
            parts = urlsplit(self._url)
            cls = (
                http.client.HTTPSConnection
                if parts.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(parts.hostname or "127.0.0.1", parts.port, timeout=self._timeout)
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            resp = conn.getresponse()
            raw = resp.read()
        except OSError as exc:
            raise click.ClickException(f"cannot reach the broker: {type(exc).__name__}") from exc
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, None


def _fail(status: int, answer: Any) -> None:
    err = answer.get("error", {}) if isinstance(answer, dict) else {}
    click.echo(f"error: HTTP {status} {err.get('code', '')}: {err.get('message', '')}", err=True)
    sys.exit(2)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@click.group()
@click.option(
    "--url",
    default="http://127.0.0.1:8080",
    envvar="SLUICE_ADMIN_URL",
    show_default=True,
    help="Broker base URL (when the admin API is on TCP).",
)
@click.option(
    "--socket",
    "unix_socket",
    default=None,
    envvar="SLUICE_ADMIN_SOCKET",
    help="The broker's admin unix socket (admin.socket).",
)
@click.option(
    "--token-file",
    required=True,
    envvar="SLUICE_ADMIN_TOKEN_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the admin credential.",
)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds per request.")
@click.pass_context
def sessions(ctx: click.Context, url: str, unix_socket: str | None, token_file: Path,
             timeout: float) -> None:  # fmt: skip
    """Inspect and revoke sessions through the broker's admin API."""
    try:
        token = token_file.read_text().strip()
    except OSError as exc:
        click.echo(f"error: cannot read token file: {exc.strerror}", err=True)
        sys.exit(2)
    ctx.obj = AdminClient(url, unix_socket, token, timeout)


@sessions.command("list")
@click.option(
    "--state", default="active", show_default=True, help="Comma-separated states, or 'all'."
)
@click.option("--limit", default=100, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON answer.")
@click.pass_obj
def list_cmd(client: AdminClient, state: str, limit: int, as_json: bool) -> None:
    """List sessions (oldest id first)."""
    status, answer = client.call(
        "GET", f"{ADMIN_PATH}?{urlencode({'state': state, 'limit': limit})}"
    )
    if status != 200:
        _fail(status, answer)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    rows = answer["sessions"]
    click.echo(f"{'SESSION':<28} {'STATE':<8} {'RULE':<16} {'EXPIRES':<20} SUBJECT")
    for r in rows:
        click.echo(f"{r['session_id']:<28} {r['state']:<8} {r['rule'][:16]:<16} "
                   f"{_when(r['expires_at']):<20} {r['subject']}")  # fmt: skip
    click.echo(f"{len(rows)} session(s)")


@sessions.command()
@click.argument("session_id")
@click.pass_obj
def show(client: AdminClient, session_id: str) -> None:
    """Show one session as JSON."""
    status, answer = client.call("GET", f"{ADMIN_PATH}/{quote(session_id, safe='')}")
    if status != 200:
        _fail(status, answer)
    click.echo(json.dumps(answer, indent=2))


@sessions.command()
@click.argument("session_id", required=False)
@click.option("--subject", default=None, help="Revoke every active session whose subject "
              "matches this glob (e.g. 'repo:acme/*').")  # fmt: skip
@click.pass_obj
def revoke(client: AdminClient, session_id: str | None, subject: str | None) -> None:
    """Revoke one session, or every active session matching --subject."""
    if (session_id is None) == (subject is None):
        raise click.UsageError("give exactly one of SESSION_ID or --subject")
    if session_id is not None:
        status, answer = client.call("POST", f"{ADMIN_PATH}/{quote(session_id, safe='')}/revoke")
        if status not in (200, 202):
            _fail(status, answer)
        click.echo(f"{answer['session_id']}: {answer['state']}")
        sys.exit(0 if status == 200 else 1)
    status, answer = client.call("POST", f"{ADMIN_PATH}/revoke", {"subject": subject})
    if status != 200:
        _fail(status, answer)
    click.echo(f"{answer['matched']} matched, {answer['revoked']} revoked, "
               f"{answer['ending']} still ending")  # fmt: skip
    sys.exit(1 if answer["ending"] else 0)
