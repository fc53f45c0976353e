"""Sidecar socket hygiene, peer credentials and broker-answer mapping."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest

from sidecar.broker_client import _refused
from sidecar.errors import BrokerRefused, BrokerUnavailable, InsecureSocketDir
from sidecar.peercred import peer_of
from sidecar.server import prepare_socket_dir


def test_socket_dir_is_created_0700(tmp_path: Path) -> None:
    """A missing socket directory is created private."""
    sock = tmp_path / "run" / "s.sock"
    prepare_socket_dir(sock)
    assert (sock.parent.stat().st_mode & 0o777) == 0o700


def test_open_socket_dir_is_refused(tmp_path: Path) -> None:
    """A directory others can enter is refused."""
    d = tmp_path / "open"
    d.mkdir()
    d.chmod(0o750)
    with pytest.raises(InsecureSocketDir):
        prepare_socket_dir(d / "s.sock")


def test_non_socket_at_the_path_is_refused(tmp_path: Path) -> None:
    """A regular file where the socket goes is never deleted."""
    d = tmp_path / "run"
    d.mkdir(mode=0o700)
    (d / "s.sock").write_text("keep me")
    with pytest.raises(InsecureSocketDir):
        prepare_socket_dir(d / "s.sock")
    assert (d / "s.sock").read_text() == "keep me"


def test_peer_credentials_name_this_process() -> None:
    """SO_PEERCRED reports our own pid and uid across a socketpair."""
    a, b = socket.socketpair(socket.AF_UNIX)
    with a, b:
        peer = peer_of(a)
    assert peer is not None and (peer.pid, peer.uid) == (os.getpid(), os.getuid())


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (401, {"error": {"code": "expired_token", "message": "m"}}, BrokerRefused, "expired_token"),
        (
            403,
            {"error": {"code": "no_matching_rule", "message": "m"}},
            BrokerRefused,
            "no_matching_rule",
        ),
        (
            503,
            {"error": {"code": "vault_unavailable", "message": "m"}},
            BrokerUnavailable,
            "vault_unavailable",
        ),
        (502, "<html>bad gateway</html>", BrokerUnavailable, "broker_unavailable"),
    ],
)
def test_broker_answers_map_to_sidecar_errors(
    status: int, body: object, kind: type, code: str
) -> None:
    """Refusals are final (BrokerRefused); 5xx and non-JSON answers are retryable."""
    err = _refused(status, body)
    assert isinstance(err, kind) and err.code == code


async def _get(sock: Path) -> tuple[int, dict[str, object]]:
    import aiohttp

    connector = aiohttp.UnixConnector(path=str(sock))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get("http://sidecar/v1/token") as resp,
    ):
        return resp.status, await resp.json()


@pytest.mark.parametrize(("expires_in", "status"), [(300, 200), (-1, 410)])
async def test_token_is_served_only_while_unexpired(
    expires_in: float, status: int, tmp_path: Path
) -> None:
    """GET /v1/token returns the token before expiry and 410 session_expired after."""
    import time

    from broker.wire import Secret, SessionCreated
    from sidecar.server import make_app, serve

    sock = Path(tempfile.mkdtemp(prefix="sl-", dir="/tmp")) / "s.sock"
    session = SessionCreated(
        "ses_u", Secret("s.unitunitunitunitunitunit"), "acc", time.time() + expires_in
    )
    runner = await serve(make_app(session, frozenset()), sock)
    try:
        got, body = await _get(sock)
    finally:
        await runner.cleanup()
        sock.unlink(missing_ok=True)
        sock.parent.rmdir()
    assert got == status
    assert (body.get("token") == "s.unitunitunitunitunitunit") is (status == 200)
    if status == 410:
        assert body["error"] == {
            "code": "session_expired",
            "message": "the session token has expired",
        }
