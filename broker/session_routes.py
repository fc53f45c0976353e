"""Session-holder endpoints beyond create: end (``DELETE``) and heartbeat.

The bearer is the session's own OpenBao token, checked against the stored SHA-256 in constant
time. Answers say where the session stands: ``204`` once OpenBao confirmed the revocation,
``202 {"state": "ending"}`` while it has not (OpenBao down: the reaper keeps retrying).
"""

from __future__ import annotations

import logging

from aiohttp import web

from broker import errors
from broker.app_keys import CLOCK, STORE
from broker.handlers import bearer
from broker.lifecycle import EndOutcome, end_session, session_settings
from broker.sessions import FINAL, State, bearer_matches, heartbeat_deadline, token_digest
from broker.store import SessionRecord
from broker.wire import Secret

log = logging.getLogger(__name__)


async def _owned(request: web.Request) -> SessionRecord:
    presented = Secret(bearer(request))
    record = await request.app[STORE].get(request.match_info["session_id"])
    if record is None:
        raise errors.SessionNotFound()
    if not bearer_matches(record.token_sha256, presented.reveal()):
        raise errors.Forbidden("bearer is not this session's token")
    return record


def state_body(record_id: str, state: State) -> dict[str, str]:
    return {"session_id": record_id, "state": state.value}


async def delete_session(request: web.Request) -> web.Response:
    presented = Secret(bearer(request))
    session_id = request.match_info["session_id"]
    # Claim first, checking the bearer's digest in the same statement (the digest of a
    # ~140-bit random token: comparing it in SQL leaks nothing usable). Only when that
    # claim fails is the row read, and the bearer checked, to say why.
    outcome = await end_session(
        request.app, session_id, State.ENDED, token_sha256=token_digest(presented.reveal())
    )
    if not outcome.claimed:
        record = await _owned(request)  # 404 / 403 before anything is revealed
        if record.state is State.ACTIVE:  # lost a race with nothing: claim again, bearer known
            outcome = await end_session(request.app, session_id, State.ENDED)
        else:
            outcome = EndOutcome(session_id, record.state, claimed=False)
    if outcome.state in FINAL:
        return web.Response(status=204)  # ending twice is not an error: the goal holds
    return web.json_response(state_body(session_id, outcome.state), status=202)


async def heartbeat(request: web.Request) -> web.Response:
    """Push the session's deadline to ``now + heartbeat_window_s`` (never past its TTL)."""
    app = request.app
    record = await _owned(request)
    now = app[CLOCK]()
    window = session_settings(app).heartbeat_window_s
    deadline = heartbeat_deadline(now, record.expires_at, window)
    if record.state is not State.ACTIVE or not await app[STORE].heartbeat(record.id, now, deadline):
        raise errors.SessionNotActive()
    return web.json_response(
        {
            "session_id": record.id,
            "state": State.ACTIVE.value,
            "deadline_at": deadline,
            "expires_at": record.expires_at,
            "heartbeat_window_s": window,
        }
    )
