"""The sidecar's life: open a session, serve it, end it on SIGTERM/SIGINT, clean up.

`run_session` is shared with `sluice run`, which serves the session while a command runs.

When the broker says the session is gone (revoked by an admin or the leak guard, or lapsed and
reaped), the token is dead: from that moment the socket answers 410 ``session_revoked`` and
never the token, the sidecar does not try to end the ended session, and it exits with
`SESSION_REVOKED_EXIT` after `REVOKED_LINGER_S` (so an app polling the socket learns why before
it disappears). In Kubernetes the container restart then opens a fresh session. It notices at
its next heartbeat: at most a third of the broker's window late (see `sidecar.heartbeat`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable

import aiohttp

from broker.wire import SessionCreated
from sidecar import server
from sidecar.broker_client import BrokerClient
from sidecar.errors import BrokerRefused, BrokerUnavailable, ConfigError, SidecarError
from sidecar.heartbeat import Standing, heartbeat_delay_s, session_gone
from sidecar.settings import SidecarSettings

log = logging.getLogger("sidecar")
# The broker ended the session under us (not our own goodbye): distinct from 1 (sidecar
# failure), 2 (usage/config) and 3 (`sluice run` withheld output), so a restart says why.
SESSION_REVOKED_EXIT = 4
REVOKED_LINGER_S = 2.0  # socket answers 410 this long before the sidecar exits (SIGTERM: at once)


class SessionWatch:
    """The session's current `Standing`, updated by the heartbeats, read by the socket and
    the body; ``ended`` is set once the broker said the session is gone."""

    def __init__(self, session: SessionCreated, opened_at: float) -> None:
        self.standing = Standing(expires_at=session.expires_at, confirmed_at=opened_at)
        self.ended = asyncio.Event()

    def confirm(self, sent_at: float, window_s: float | None) -> None:
        self.standing = self.standing.confirmed(sent_at, window_s)

    def end(self, code: str) -> None:
        self.standing = self.standing.ended(code)
        self.ended.set()

    @property
    def cause(self) -> str:
        """The broker's error code that ended the session ('' while it has not)."""
        return self.standing.gone_code or ""


def read_identity_token(settings: SidecarSettings) -> str:
    try:
        token = settings.identity_token_file.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read identity token file: {exc.strerror}") from exc
    if not token:
        raise ConfigError("identity token file is empty")
    return token


Body = Callable[[SessionCreated, SessionWatch], Awaitable[int]]


async def run_session(settings: SidecarSettings, body: Body) -> int:
    """Open a session, serve it on the socket while ``body`` runs, then end it whatever happens.

    ``body`` watches ``SessionWatch.ended`` to stop early when the broker ended the session;
    then the session is not ended again. Returns ``body``'s exit code, or 1 when it was 0 but
    the session could not be ended (a token left alive must not look like success).
    """
    identity = read_identity_token(settings)
    server.prepare_socket_dir(settings.socket_path)
    async with aiohttp.ClientSession() as http:
        client = BrokerClient(http, settings.broker_url, settings.timeout_s)
        session = await _retry(lambda: client.open_session(identity), settings.open_attempts)
        log.info(
            "session %s opened, expires in %ds",
            session.session_id,
            max(0, int(session.expires_at - time.time())),
        )
        watch = SessionWatch(session, time.time())
        runner = await server.serve(
            server.make_app(session, settings.allowed_uids, lambda: watch.standing),
            settings.socket_path,
        )
        log.info("serving %s on %s", server.TOKEN_PATH, settings.socket_path)
        beats = asyncio.create_task(heartbeats(client, session, watch), name="sluice-heartbeat")
        code = 1
        try:
            code = await body(session, watch)
        finally:
            beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats
            await runner.cleanup()
            with contextlib.suppress(FileNotFoundError):
                settings.socket_path.unlink()
            if watch.ended.is_set():  # ending it again would only be refused
                log.info("session %s had ended at the broker; socket removed", session.session_id)
            else:
                code = await _end(client, session, settings, code)
    return code


async def heartbeats(client: BrokerClient, session: SessionCreated, watch: SessionWatch) -> None:
    """Beat at once (the answer tells the window), then on the schedule of ``heartbeat``;
    stop for good, marking ``watch`` ended, once the broker says the session is gone."""
    window: float | None = None
    failures = 0
    while True:
        sent_at = time.time()
        try:
            window = await client.heartbeat(session)
            failures = 0
            watch.confirm(sent_at, window)
        except BrokerRefused as exc:
            if session_gone(exc.status):
                watch.end(exc.code)
                return
            failures += 1
            log.warning("heartbeat refused (%s)", exc.code)
        except BrokerUnavailable as exc:
            failures += 1
            log.warning("heartbeat failed (%s), attempt %d", exc.code, failures)
        await asyncio.sleep(heartbeat_delay_s(window, failures))


async def first_set(*events: asyncio.Event) -> None:
    """Return as soon as any of ``events`` is set."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def run(
    settings: SidecarSettings, on_session: Callable[[SessionCreated], None] | None = None
) -> int:
    """The sidecar: serve until SIGTERM/SIGINT, then end the session. Exit 0 when all went well,
    `SESSION_REVOKED_EXIT` when the broker ended the session first.

    ``on_session`` sees the session as soon as it exists (the log filter learns its values)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def until_signal(session: SessionCreated, watch: SessionWatch) -> int:
        if on_session is not None:
            on_session(session)
        await first_set(stop, watch.ended)
        if not watch.ended.is_set():
            log.info("signal received, stopping")
            return 0
        log.error(
            "session %s ended at the broker (%s): its token is no longer served; "
            "exiting with code %d",
            session.session_id,
            watch.cause,
            SESSION_REVOKED_EXIT,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REVOKED_LINGER_S)
        return SESSION_REVOKED_EXIT

    return await run_session(settings, until_signal)


async def _end(
    client: BrokerClient, session: SessionCreated, settings: SidecarSettings, code: int
) -> int:
    log.info("ending session %s", session.session_id)
    try:
        await _retry(lambda: client.end_session(session), settings.end_attempts)
    except SidecarError as exc:
        log.error("could not end session %s: %s", session.session_id, exc.code)
        return code or 1
    log.info("session %s ended; socket removed", session.session_id)
    return code


async def _retry(call, attempts: int):  # type: ignore[no-untyped-def]
    """Retry only while the broker is unreachable; refusals are final."""
    delay = 0.2
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except BrokerUnavailable as exc:
            if attempt == attempts:
                raise
            log.warning("broker unavailable (%s), retry %d/%d", exc.code, attempt, attempts)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")
