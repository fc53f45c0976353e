"""``sluice run -- cmd``: a session for the lifetime of one command (CI jobs).

The command learns only the socket's path (``SLUICE_SOCKET``); the token never enters its
environment, argv or the disk. Its stdout and stderr are piped through the streaming
redactor (`sidecar.output`) with every provider rule on and the session's own values (token,
accessor, the identity JWT) registered, so even a format-less value it prints is masked.
SIGTERM/SIGINT are forwarded to the command; when it exits, the session is ended and the
command's exit code is returned (block mode: `WITHHELD_EXIT` if it succeeded but lines were
withheld). If the broker ends the session while the command runs (revoked, or lapsed), the
command's credentials are dead: it gets SIGTERM, SIGKILL after `STOP_GRACE_S`, one ERROR line
says why, and `sluice run` exits with `SESSION_REVOKED_EXIT` whatever the command returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any

from broker.wire import SessionCreated
from scanners import logfilter as logs
from sidecar.lifecycle import (
    SESSION_REVOKED_EXIT,
    SessionWatch,
    read_identity_token,
    run_session,
)
from sidecar.settings import SidecarSettings

log = logging.getLogger("sidecar.run")
SOCKET_ENV = "SLUICE_SOCKET"
# Block mode: the command exited 0 but some of its output was withheld. Distinct from the
# sidecar's own failures (1, 2) so a CI log says which happened.
WITHHELD_EXIT = 3
STOP_GRACE_S = 3.0  # SIGTERM to SIGKILL when the session ended under the command


@dataclass(frozen=True)
class OutputPolicy:
    """What happens to the command's output: `mode` is redact, block or report; None: untouched.
    `flush_idle_ms`: an unfinished line (a prompt) quiet this long shows its safe prefix; 0: held
    until its newline."""

    mode: str | None = "redact"
    flush_idle_ms: int = 200


def exit_code(returncode: int) -> int:
    """A child killed by signal N exits like a shell would report it: 128 + N."""
    return returncode if returncode >= 0 else 128 - returncode


def session_values(session: SessionCreated, identity_token: str) -> list[tuple[str, str]]:
    """Everything secret this process holds for the session, labelled for warnings."""
    return [
        ("the session token", session.token.reveal()),
        ("the session token's accessor", session.accessor),
        ("the identity token", identity_token),
    ]


async def run_command(
    settings: SidecarSettings, argv: list[str], output: OutputPolicy | None = None
) -> int:
    output = output or OutputPolicy()
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

    # The rule engine loads (from its on-disk cache) while the session is being opened.
    from sidecar import redaction

    base = asyncio.ensure_future(asyncio.to_thread(redaction.rule_engine))

    async def command(session: SessionCreated, watch: SessionWatch) -> int:
        nonlocal proc
        engine = await base  # before `learn`, which would otherwise load it a second time
        values = session_values(session, read_identity_token(settings))
        logs.learn(values)
        if pending:
            return 128 + pending[0]
        env = {k: v for k, v in os.environ.items() if k != "SLUICE_IDENTITY_TOKEN_FILE"}
        env[SOCKET_ENV] = str(settings.socket_path)
        guard = None
        if output.mode is not None:
            from sidecar.output import OutputGuard

            guard = OutputGuard(
                redaction.engine_with(values, engine),
                output.mode,
                idle_s=output.flush_idle_ms / 1000,
            )
        stdout, stderr = guard.child_fds if guard else (None, None)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, env=env, stdout=stdout, stderr=stderr
            )
        except OSError as exc:
            if guard is not None:
                guard.close()
            log.error("cannot start %s: %s", argv[0], exc.strerror)
            return 127 if isinstance(exc, FileNotFoundError) else 126
        if guard is None:
            return await _wait_or_stop(proc, watch, session.session_id, argv[0])
        guard.release_child_fds()
        exited = threading.Event()
        pump = asyncio.ensure_future(asyncio.to_thread(guard.run, exited))
        try:
            code = await _wait_or_stop(proc, watch, session.session_id, argv[0])
        finally:
            exited.set()
            await asyncio.shield(pump)
        if guard.withheld_lines:
            log.warning("withheld %d line(s) of output holding secrets", guard.withheld_lines)
            code = code or WITHHELD_EXIT
        return code

    try:
        return await run_session(settings, command)
    finally:
        if not base.done():
            base.cancel()


async def _wait_or_stop(
    proc: asyncio.subprocess.Process, watch: SessionWatch, session_id: str, name: str
) -> int:
    """The command's exit code; or, when the session ends under it first, stop it (SIGTERM,
    then SIGKILL after the grace) and answer `SESSION_REVOKED_EXIT`."""
    waited = asyncio.ensure_future(proc.wait())
    await _done_or_ended(waited, watch)
    if waited.done():
        return exit_code(waited.result())
    log.error(
        "session %s ended at the broker (%s): its token is dead; stopping %s (SIGTERM), "
        "exit code %d",
        session_id,
        watch.cause,
        name,
        SESSION_REVOKED_EXIT,
    )
    with contextlib.suppress(ProcessLookupError):  # it may have exited just now
        proc.terminate()
    try:
        await asyncio.wait_for(asyncio.shield(waited), STOP_GRACE_S)
    except TimeoutError:
        log.warning("%s still running %.0fs after SIGTERM; sending SIGKILL", name, STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await waited
    return SESSION_REVOKED_EXIT


async def _done_or_ended(task: asyncio.Future[int], watch: SessionWatch) -> None:
    """Return when ``task`` is done or the session has ended, whichever comes first."""
    ended = asyncio.ensure_future(watch.ended.wait())
    either: list[asyncio.Future[Any]] = [task, ended]
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ended.cancel()
