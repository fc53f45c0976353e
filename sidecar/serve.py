"""``sluice sidecar``'s main loop with the session's values registered in its own log filter.

Mirrors `lifecycle.run` (serve until SIGTERM/SIGINT, then end the session), adding only that
the token, accessor and identity token are learned by the redacting log filter as soon as
the session exists, so the sidecar's log masks them even where they have no format.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from broker.wire import SessionCreated
from sidecar import logs
from sidecar.lifecycle import read_identity_token, run_session
from sidecar.run import session_values
from sidecar.settings import SidecarSettings

log = logging.getLogger("sidecar")


async def serve(settings: SidecarSettings) -> int:
    """Serve until SIGTERM/SIGINT, then end the session. Exit 0 when all went well."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def until_signal(session: SessionCreated) -> int:
        logs.learn(session_values(session, read_identity_token(settings)))
        await stop.wait()
        log.info("signal received, stopping")
        return 0

    return await run_session(settings, until_signal)
