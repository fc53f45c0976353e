"""The workload-facing API: HTTP on a unix socket, 0600 in a 0700 directory, peer-checked.

GET /v1/token hands out the token only while `heartbeat.token_verdict` says so: never again
once the broker said the session is gone (410 ``session_revoked``), nor after its expiry (410
``session_expired``), nor while no beat has confirmed it for a whole window (503
``session_unconfirmed``, transient: the next confirmed beat serves it again).
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from broker.wire import ErrorBody, SessionCreated
from sidecar.errors import InsecureSocketDir
from sidecar.heartbeat import Standing, Verdict, token_verdict
from sidecar.peercred import peer_of

log = logging.getLogger(__name__)
SESSION = web.AppKey("session", SessionCreated)
ALLOWED_UIDS = web.AppKey("allowed_uids", frozenset)
StandingFn = Callable[[], Standing]
STANDING: web.AppKey[StandingFn] = web.AppKey("standing")
TOKEN_PATH = "/v1/token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(
    code: str, message: str, status: int, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(ErrorBody(code, message).to_json(), status=status, headers=headers)


@web.middleware
async def peer_check(request: web.Request, handler: Handler) -> web.StreamResponse:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    peer = peer_of(sock) if sock is not None else None
    if peer is None or peer.uid not in request.app[ALLOWED_UIDS]:
        log.warning("refused a peer with uid %s", peer.uid if peer else "unknown")
        return _error("forbidden_peer", "this process may not use the socket", 403)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error("not_found" if exc.status == 404 else "bad_request", exc.reason, exc.status)


async def get_token(request: web.Request) -> web.Response:
    session = request.app[SESSION]
    standing = request.app[STANDING]()
    verdict = token_verdict(standing, time.time())
    if verdict is Verdict.REVOKED:
        message = (
            f"the session ended at the broker ({standing.gone_code}); "
            "its token is dead and the sidecar will exit"
        )
        return _error(verdict.value, message, 410)
    if verdict is Verdict.EXPIRED:
        # OpenBao has dropped it; handing it out would only produce confusing 403s downstream.
        return _error(verdict.value, "the session token has expired", 410)
    if verdict is Verdict.UNCONFIRMED:
        message = "the broker has not confirmed the session for a heartbeat window; retry soon"
        return _error(verdict.value, message, 503, {"Retry-After": "1"})
    return web.json_response(
        {
            "token": session.token.reveal(),
            "expires_at": session.expires_at,
            "session_id": session.session_id,
        }
    )


def make_app(
    session: SessionCreated,
    allowed_uids: frozenset[int],
    standing: StandingFn | None = None,
) -> web.Application:
    """The socket's app; ``standing`` reads the session's current `Standing` on every request
    (default: as opened, never confirmed again — for tests and a broker without heartbeats)."""
    if standing is None:
        opened = Standing(expires_at=session.expires_at, confirmed_at=time.time())
        standing = lambda: opened
    app = web.Application(middlewares=[peer_check])
    app[SESSION] = session
    app[ALLOWED_UIDS] = allowed_uids | {os.getuid()}
    app[STANDING] = standing
    app.router.add_get(TOKEN_PATH, get_token)
    return app


def prepare_socket_dir(socket_path: Path) -> None:
    """Create the socket's directory 0700, or refuse one that others can enter."""
    directory = socket_path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise InsecureSocketDir(
            f"socket directory {directory} must be owned by this user with mode 0700"
        )
    if socket_path.exists() or socket_path.is_symlink():
        if not stat.S_ISSOCK(socket_path.lstat().st_mode):
            raise InsecureSocketDir(f"{socket_path} exists and is not a socket")
        socket_path.unlink()  # a stale socket from a previous run


async def serve(app: web.Application, socket_path: Path) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    old = os.umask(0o177)  # the socket is born 0600: no window where others may connect
    try:
        await web.UnixSite(runner, str(socket_path)).start()
    finally:
        os.umask(old)
    os.chmod(socket_path, 0o600)
    return runner
