"""``sluice run -- cmd``: a session for the lifetime of one command (CI jobs).

The command learns only the socket's path (``SLUICE_SOCKET``); the token never enters its
environment, argv or the disk. SIGTERM/SIGINT are forwarded to the command; when it exits,
the session is ended and the command's exit code is returned.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from broker.wire import SessionCreated
from sidecar.lifecycle import run_session
from sidecar.settings import SidecarSettings

log = logging.getLogger("sidecar.run")
SOCKET_ENV = "SLUICE_SOCKET"


def exit_code(returncode: int) -> int:
    """A child killed by signal N exits like a shell would report it: 128 + N."""
    return returncode if returncode >= 0 else 128 - returncode


async def run_command(settings: SidecarSettings, argv: list[str]) -> int:
    loop = asyncio.get_running_loop()
    pending: list[int] = []
    proc: asyncio.subprocess.Process | None = None

    def forward(sig: int) -> None:
        if proc is not None and proc.returncode is None:
            proc.send_signal(sig)
        else:
            pending.append(sig)  # arrived before the command started

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, forward, sig)

    async def command(_: SessionCreated) -> int:
        nonlocal proc
        if pending:
            return 128 + pending[0]
        env = {k: v for k, v in os.environ.items() if k != "SLUICE_IDENTITY_TOKEN_FILE"}
        env[SOCKET_ENV] = str(settings.socket_path)
        try:
            proc = await asyncio.create_subprocess_exec(*argv, env=env)
        except OSError as exc:
            log.error("cannot start %s: %s", argv[0], exc.strerror)
            return 127 if isinstance(exc, FileNotFoundError) else 126
        return exit_code(await proc.wait())

    return await run_session(settings, command)
