"""The sidecar's life: open a session, serve it, end it on SIGTERM/SIGINT, clean up.

`run_session` is shared with `sluice run`, which serves the session while a command runs."""

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
from sidecar.heartbeat import heartbeat_delay_s, session_gone
from sidecar.settings import SidecarSettings

log = logging.getLogger("sidecar")


def read_identity_token(settings: SidecarSettings) -> str:
    try:
        token = settings.identity_token_file.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read identity token file: {exc.strerror}") from exc
    if not token:
        raise ConfigError("identity token file is empty")
    return token


async def run_session(
    settings: SidecarSettings, body: Callable[[SessionCreated], Awaitable[int]]
) -> int:
    """Open a session, serve it on the socket while ``body`` runs, then end it whatever happens.

    Returns ``body``'s exit code, or 1 when it was 0 but the session could not be ended (a token
    left alive must not look like success).
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
        runner = await server.serve(
            server.make_app(session, settings.allowed_uids), settings.socket_path
        )
        log.info("serving %s on %s", server.TOKEN_PATH, settings.socket_path)
        beats = asyncio.create_task(heartbeats(client, session), name="sluice-heartbeat")
        code = 1
        try:
            code = await body(session)
        finally:
            beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats
            await runner.cleanup()
            with contextlib.suppress(FileNotFoundError):
                settings.socket_path.unlink()
            log.info("ending session %s", session.session_id)
            try:
                await _retry(lambda: client.end_session(session), settings.end_attempts)
            except SidecarError as exc:
                log.error("could not end session %s: %s", session.session_id, exc.code)
                code = code or 1
            else:
                log.info("session %s ended; socket removed", session.session_id)
    return code


async def heartbeats(client: BrokerClient, session: SessionCreated) -> None:
    """Beat at once (the answer tells the window), then on the schedule of ``heartbeat``."""
    window: float | None = None
    failures = 0
    while True:
        try:
            window = await client.heartbeat(session)
            failures = 0
        except BrokerRefused as exc:
            if session_gone(exc.status):
                log.error("session %s is gone (%s); heartbeats stop", session.session_id, exc.code)
                return
            failures += 1
            log.warning("heartbeat refused (%s)", exc.code)
        except BrokerUnavailable as exc:
            failures += 1
            log.warning("heartbeat failed (%s), attempt %d", exc.code, failures)
        await asyncio.sleep(heartbeat_delay_s(window, failures))


async def run(
    settings: SidecarSettings, on_session: Callable[[SessionCreated], None] | None = None
) -> int:
    """The sidecar: serve until SIGTERM/SIGINT, then end the session. Exit 0 when all went well.

    ``on_session`` sees the session as soon as it exists (the log filter learns its values)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def until_signal(session: SessionCreated) -> int:
        if on_session is not None:
            on_session(session)
        await stop.wait()
        log.info("signal received, stopping")
        return 0

    return await run_session(settings, until_signal)


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
