"""``sluice sidecar``: exchange the workload's identity token and serve the session on a socket."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import stat
import sys
import tempfile
import time
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


@click.command("serve")
@_common
@click.option(
    "--socket",
    "socket_path",
    required=True,
    envvar="SLUICE_SOCKET",
    type=click.Path(path_type=Path),
    help="Unix socket to serve the session on.",
)
def serve_cmd(
    broker_url: str,
    identity_token_file: Path,
    allowed_uids: tuple[int, ...],
    log_level: str,
    socket_path: Path,
) -> None:
    """Open a broker session and serve its token on a unix socket until SIGTERM/SIGINT.

    Exit codes: 0 stopped by signal, session ended; 1 broker or sidecar failure; 2 usage or
    config error; 4 the broker ended the session first (revoked, or lapsed and reaped): the
    socket answered 410 session_revoked, then the sidecar exited, so a restart opens a fresh
    session.
    """
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
@click.option(
    "--flush-idle-ms",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    envvar="SLUICE_FLUSH_IDLE_MS",
    help="A line COMMAND leaves unfinished this long (a prompt) is shown up to its last "
    "whitespace, a secret still arriving held; \\r progress redraws stream. 0: hold until the "
    "newline.",
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
    flush_idle_ms: int,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND with a session served on a socket (path in $SLUICE_SOCKET); end it after.

    COMMAND's output is redacted: every provider rule, plus the session's own token, accessor
    and identity token in any form. Exits with COMMAND's exit code; in block mode, 3 when
    COMMAND exited 0 but lines were withheld; 4 when the broker ended the session while
    COMMAND ran (its credentials are dead: it got SIGTERM, then SIGKILL after 3 s).
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
    output = run_mod.OutputPolicy(None if no_redact else redact_mode, flush_idle_ms)
    try:
        _exit_with(run_mod.run_command(settings, list(command), output))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


@click.command("ready")
@click.option(
    "--socket",
    "socket_path",
    required=True,
    envvar="SLUICE_SOCKET",
    type=click.Path(path_type=Path),
    help="The socket `sluice sidecar serve` serves on.",
)
@click.option(
    "--wait-s",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Keep checking this long before giving up.",
)
def ready(socket_path: Path, wait_s: float) -> None:
    """Exit 0 once a sidecar is serving on SOCKET (its session is open), else 1.

    The injected sidecar's startup probe: Kubernetes starts the app only after it passes.
    """
    deadline = time.monotonic() + wait_s
    while not _accepting(socket_path):
        if time.monotonic() >= deadline:
            click.echo(f"sluice: not_ready: no sidecar serving on {socket_path}", err=True)
            sys.exit(1)
        time.sleep(0.2)


def _accepting(socket_path: Path) -> bool:
    try:
        if not stat.S_ISSOCK(socket_path.lstat().st_mode):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            probe.connect(str(socket_path))
    except OSError:
        return False
    return True


@click.command("webhook")
@click.option(
    "--config",
    "config_file",
    required=True,
    envvar="SLUICE_WEBHOOK_CONFIG",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML injection config: image, broker_url, audience, socket_dir, resources ...",
)
@click.option("--tls-cert-file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tls-key-file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--max-body-bytes",
    default=2 * 1024 * 1024,
    show_default=True,
    type=click.IntRange(min=1024),
    help="Larger AdmissionReviews are refused with 413.",
)
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
)
def webhook(
    config_file: Path,
    tls_cert_file: Path,
    tls_key_file: Path,
    host: str,
    port: int,
    max_body_bytes: int,
    log_level: str,
) -> None:
    """Serve the sidecar-injection admission webhook over HTTPS (POST /mutate, GET /healthz).

    Pods labelled or annotated sluice.dev/inject: "true" get the sidecar, a projected identity
    token and the socket volume. Logs name only each pod and the decision, never its spec.
    """
    from sidecar import webhook as hook

    try:
        config = hook.read_config(config_file)
    except SidecarError as exc:
        click.echo(f"sluice: {exc.code}: {exc.message}", err=True)
        sys.exit(2)
    logging.basicConfig(
        level=log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    from scanners import logfilter as logs

    logs.install()  # the log names pods only; the leak guard stays on regardless

    async def main() -> int:
        settings = hook.WebhookSettings(
            config=config,
            cert_file=tls_cert_file,
            key_file=tls_key_file,
            host=host,
            port=port,
            max_body_bytes=max_body_bytes,
        )
        return await hook.serve(settings)

    _exit_with(main())


class _ServeByDefault(click.Group):
    """`sluice sidecar --broker ...` without a subcommand still means `sluice sidecar serve`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["serve", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_ServeByDefault)
def sidecar() -> None:
    """The workload side: serve a session on a socket (`serve`, the default), check that one
    is served (`ready`), or inject the sidecar into pods (`webhook`)."""


sidecar.add_command(serve_cmd)
sidecar.add_command(ready)
sidecar.add_command(webhook)
