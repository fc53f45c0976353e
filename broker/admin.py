"""Admin API: list, show and revoke sessions, and the kill switch by subject pattern.

Authentication is a bearer credential read from ``admin.token_file``, compared in constant
time; it is unrelated to workload identities (no JWT or session token is ever an admin).
Without ``admin.token_file`` the admin API does not exist. With ``admin.socket`` the routes
are served only on that unix socket (mode 0600), not on the TCP listener workloads reach:
a workload that steals the admin credential still needs the broker pod's filesystem.

Revocation here goes through the same path as any end (``ending`` first, OpenBao second), so
an outage leaves the sessions ``ending`` and the answer says how many are still pending.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from aiohttp import web

from broker import errors
from broker.app_keys import STORE
from broker.handlers import bearer
from broker.lifecycle import end_session, session_settings
from broker.sessions import FINAL, State
from broker.store import SessionRecord
from broker.wire import Secret

log = logging.getLogger(__name__)
ADMIN_PATH = "/v1/admin/sessions"
ADMIN_TOKEN: web.AppKey[Secret] = web.AppKey("admin_token")
PAGE = 500
MAX_LIST = 10_000


def record_json(r: SessionRecord) -> dict[str, Any]:
    return {
        "session_id": r.id, "state": r.state.value,
        "end_cause": r.end_cause.value if r.end_cause else None,
        "issuer": r.issuer, "subject": r.subject, "rule": r.rule, "policies": list(r.policies),
        "accessor": r.accessor, "acl_policy": r.acl_policy, "created_at": r.created_at,
        "expires_at": r.expires_at, "deadline_at": r.deadline_at,
        "heartbeat_at": r.heartbeat_at, "ended_at": r.ended_at, "attempts": r.attempts,
    }  # fmt: skip


@web.middleware
async def admin_auth(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/v1/admin/"):
        expected = request.app.get(ADMIN_TOKEN)
        try:
            presented = bearer(request)
        except errors.AuthError as exc:
            raise errors.AdminUnauthorized() from exc
        if expected is None or not hmac.compare_digest(
            presented.encode(), expected.reveal().encode()
        ):
            log.warning("admin request refused: wrong credential")
            raise errors.AdminUnauthorized()
    result: web.StreamResponse = await handler(request)
    return result


def _states(request: web.Request) -> list[State] | None:
    raw = request.query.get("state")
    if not raw or raw == "all":
        return None
    try:
        return [State(s) for s in raw.split(",")]
    except ValueError as exc:
        raise errors.BadRequest(
            "state must be one of " + ", ".join(s.value for s in State)
        ) from exc


async def list_sessions(request: web.Request) -> web.Response:
    try:
        limit = min(MAX_LIST, int(request.query.get("limit", "100")))
    except ValueError as exc:
        raise errors.BadRequest("limit must be an integer") from exc
    rows = await request.app[STORE].list_sessions(
        _states(request), max(1, limit), request.query.get("after")
    )
    return web.json_response({"sessions": [record_json(r) for r in rows]})


async def show_session(request: web.Request) -> web.Response:
    record = await request.app[STORE].get(request.match_info["session_id"])
    if record is None:
        raise errors.SessionNotFound()
    return web.json_response(record_json(record))


async def revoke_session(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    outcome = await end_session(request.app, session_id, State.REVOKED)
    log.info("admin revoked session %s -> %s", session_id, outcome.state.value)
    status = 200 if outcome.state in FINAL else 202
    return web.json_response(
        {"session_id": session_id, "state": outcome.state.value}, status=status
    )


async def revoke_matching(request: web.Request) -> web.Response:
    """Body ``{"subject": "<glob>"}``: revoke every active session whose subject matches."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise errors.BadRequest("body must be JSON") from exc
    pattern = body.get("subject") if isinstance(body, dict) else None
    if not isinstance(pattern, str) or not pattern.strip():
        raise errors.BadRequest("'subject' must be a non-empty glob pattern")
    app = request.app
    gate = asyncio.Semaphore(session_settings(app).revoke_concurrency)

    async def one(session_id: str) -> State:
        async with gate:
            return (await end_session(app, session_id, State.REVOKED)).state

    outcomes: list[State] = []
    # Opens in flight (``pending``) would become active after the sweep and escape it: sweep
    # again until none matches, bounded by how long an open may take.
    give_up_at = time.monotonic() + session_settings(app).open_timeout_s
    while True:
        matched = await _matching(app, [State.ACTIVE], pattern)
        outcomes += await asyncio.gather(*(one(s) for s in matched))
        if not await _matching(app, [State.PENDING], pattern) or time.monotonic() > give_up_at:
            break
        await asyncio.sleep(0.2)
    revoked = sum(1 for s in outcomes if s is State.REVOKED)
    ending = sum(1 for s in outcomes if s is State.ENDING)
    log.info("admin kill switch: %d matched, %d revoked, %d ending", len(outcomes), revoked, ending)
    return web.json_response({"matched": len(outcomes), "revoked": revoked, "ending": ending})


async def _matching(app: web.Application, states: list[State], pattern: str) -> list[str]:
    """Ids of sessions in ``states`` whose subject matches the glob (pages through the table)."""
    store, found, after = app[STORE], [], None
    while True:
        page = await store.list_sessions(states, PAGE, after)
        found += [r.id for r in page if fnmatchcase(r.subject, pattern)]
        if len(page) < PAGE:
            return found
        after = page[-1].id


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(ADMIN_PATH, list_sessions)
    router.add_post(ADMIN_PATH + "/revoke", revoke_matching)
    router.add_get(ADMIN_PATH + "/{session_id}", show_session)
    router.add_post(ADMIN_PATH + "/{session_id}/revoke", revoke_session)


def on_unix_socket(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and isinstance(transport.get_extra_info("sockname"), str)


@web.middleware
async def socket_only(request: web.Request, handler: Any) -> web.StreamResponse:
    """With ``admin.socket`` set, the admin routes do not exist on the TCP listener."""
    if request.path.startswith("/v1/admin/") and not on_unix_socket(request):
        raise web.HTTPNotFound()
    result: web.StreamResponse = await handler(request)
    return result


def install(app: web.Application, token: Secret, socket_only_mode: bool) -> None:
    """Add the admin routes and their guards to an app not yet started."""
    app[ADMIN_TOKEN] = token
    if socket_only_mode:
        app.middlewares.append(socket_only)
    app.middlewares.append(admin_auth)
    add_routes(app.router)


def prepare_socket_dir(path: Path) -> None:
    """The admin socket's directory: created 0700 if missing; refused if others can enter."""
    parent = path.parent
    if not parent.exists():
        parent.mkdir(mode=0o700, parents=True)
    if parent.stat().st_mode & 0o077:
        raise errors.ConfigError([("admin.socket", f"directory {parent} must be mode 0700")])
    if path.exists() or path.is_symlink():
        path.unlink()  # a stale socket from a killed broker


def read_admin_token(path: Path) -> Secret:
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise errors.ConfigError([("admin.token_file", f"cannot read: {exc.strerror}")]) from exc
    if len(value) < 16:
        raise errors.ConfigError([("admin.token_file", "credential must be >= 16 characters")])
    return Secret(value)
