"""``sluice sidecar``: exchange the workload's identity token and serve the session on a socket."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from sidecar.errors import SidecarError
from sidecar.settings import SidecarSettings

MAX_SOCKET_PATH = 100  # Linux caps sun_path at 108 bytes


def _common(fn: Callable[..., None]) -> Callable[..., None]:
    options = [
        click.option(
            "--broker",
            "broker_url",
            required=True,
            envvar="SLUICE_BROKER_URL",
            help="Broker base URL, e.g. http://127.0.0.1:8080",
        ),
        click.option(
            "--identity-token-file",
            required=True,
            envvar="SLUICE_IDENTITY_TOKEN_FILE",
            type=click.Path(dir_okay=False, path_type=Path),
            help="File holding the workload's OIDC JWT (e.g. a projected SA token).",
        ),
        click.option(
            "--allow-uid",
            "allowed_uids",
            multiple=True,
            type=int,
            help="Another uid allowed on the socket (own uid always is).",
        ),
        click.option(
            "--log-level",
            default="INFO",
            show_default=True,
            type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _settings(
    broker_url: str,
    identity_token_file: Path,
    socket_path: Path,
    allowed_uids: tuple[int, ...],
    log_level: str,
) -> SidecarSettings:
    logging.basicConfig(
        level=log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if len(str(socket_path).encode()) > MAX_SOCKET_PATH:
        raise click.UsageError(f"socket path longer than {MAX_SOCKET_PATH} bytes")
    if not broker_url.startswith(("http://", "https://")):
        raise click.UsageError("--broker must be an http(s) URL")
    return SidecarSettings(
        broker_url=broker_url,
        identity_token_file=identity_token_file,
        socket_path=socket_path,
        allowed_uids=frozenset(allowed_uids),
    )


def _exit_with(main: Coroutine[Any, Any, int]) -> None:
    try:
        code = asyncio.run(main)
    except SidecarError as exc:
        click.echo(f"sluice: {exc.code}: {exc.message}", err=True)
        sys.exit(2 if exc.code in {"config_error", "insecure_socket_dir"} else 1)
    sys.exit(code)


@click.command()
@_common
@click.option(
    "--socket",
    "socket_path",
    required=True,
    envvar="SLUICE_SOCKET",
    type=click.Path(path_type=Path),
    help="Unix socket to serve the session on.",
)
def sidecar(
    broker_url: str,
    identity_token_file: Path,
    allowed_uids: tuple[int, ...],
    log_level: str,
    socket_path: Path,
) -> None:
    """Open a broker session and serve its token on a unix socket until SIGTERM/SIGINT."""
    settings = _settings(broker_url, identity_token_file, socket_path, allowed_uids, log_level)
    from scanners import logfilter as logs
    from sidecar import serve  # aiohttp and the scanners only once flags are sound

    logs.install()  # own log through the leak guard; the session's values join when issued
    _exit_with(serve.serve(settings))


@click.command(context_settings={"ignore_unknown_options": True})
@_common
@click.option(
    "--socket",
    "socket_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Unix socket for the command (default: a fresh private dir under /tmp).",
)
@click.option(
    "--redact-mode",
    type=click.Choice(["redact", "block", "report"]),
    default="redact",
    show_default=True,
    envvar="SLUICE_REDACT_MODE",
    help="COMMAND's stdout/stderr: redact: secrets replaced by markers; block: lines holding "
    "one withheld (exit 3 if COMMAND succeeded); report: passed through, findings on stderr.",
)
@click.option(
    "--no-redact",
    is_flag=True,
    help="Pass COMMAND's output through untouched (explicit opt-out of the leak guard).",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(
    broker_url: str,
    identity_token_file: Path,
    allowed_uids: tuple[int, ...],
    log_level: str,
    socket_path: Path | None,
    redact_mode: str,
    no_redact: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND with a session served on a socket (path in $SLUICE_SOCKET); end it after.

    COMMAND's output is redacted: every provider rule, plus the session's own token, accessor
    and identity token in any form. Exits with COMMAND's exit code; in block mode, 3 when
    COMMAND exited 0 but lines were withheld.
    Example: sluice run --broker URL --identity-token-file F -- make deploy
    """
    scratch = None
    if socket_path is None:
        scratch = Path(tempfile.mkdtemp(prefix="sluice-", dir="/tmp"))
        socket_path = scratch / "s.sock"
    settings = _settings(broker_url, identity_token_file, socket_path, allowed_uids, log_level)
    from scanners import logfilter as logs
    from sidecar import run as run_mod

    logs.install()  # own log through the leak guard; the session's values join when issued
    output = run_mod.OutputPolicy(None if no_redact else redact_mode)
    try:
        _exit_with(run_mod.run_command(settings, list(command), output))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
