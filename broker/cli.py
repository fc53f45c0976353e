"""``sluice broker``: serve the session API."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
from aiohttp import web

from broker import logsafe
from broker import settings as settings_mod
from broker.audit_cli import audit_verify
from broker.config_marks import describe
from broker.errors import ConfigError
from broker.explain import explain
from broker.sessions_cli import sessions

log = logging.getLogger("broker")


@click.group()
def broker() -> None:
    """The session broker: identity tokens in, scoped OpenBao tokens out."""


@broker.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SLUICE_BROKER_CONFIG",
    help="YAML config file.",
)
@click.option("--host", default=None, help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (default 8080).")
@click.option(
    "--store",
    default=None,
    help="Session store: a SQLite path or a postgresql:// DSN (no password: use PGPASSFILE).",
)
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="One log line per HTTP request (the audit log already records every decision).",
)
@click.option(
    "--event-loop",
    type=click.Choice(["auto", "uvloop", "asyncio"]),
    default="auto",
    show_default=True,
    help="auto: uvloop when installed, else asyncio's own loop.",
)
def serve(
    config_path: Path | None,
    host: str | None,
    port: int | None,
    store: str | None,
    log_level: str,
    access_log: bool,
    event_loop: str,
) -> None:
    """Serve POST/DELETE /v1/sessions and /healthz."""
    logging.basicConfig(
        level=log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logsafe.install()  # libraries may log header bytes (a JWT): redact before any handler
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["listen.host"] = host
    if port is not None:
        overrides["listen.port"] = port
    if store is not None:
        postgres = store.startswith(("postgresql://", "postgres://"))
        overrides["store.dsn" if postgres else "store.sqlite_path"] = store
    try:
        cfg = settings_mod.load(config_path, os.environ, overrides)
        from broker.app import build_app  # heavier imports only once config is sound
        from broker.vault import read_token_file

        token = read_token_file(cfg.vault.token_file)
        admin_token = None
        if cfg.admin.token_file is not None:
            from broker import admin

            admin_token = admin.read_admin_token(cfg.admin.token_file)
            if cfg.admin.socket is not None:
                admin.prepare_socket_dir(cfg.admin.socket)
        from broker import logs

        logs.install(token, admin_token)  # own log through the leak guard, our secrets by value
        app = build_app(cfg, token, admin_token)
    except ConfigError as exc:
        for where, why in exc.problems:
            click.echo(f"config error: {describe(where, why)}", err=True)
        sys.exit(2)
    loop = new_event_loop(event_loop)
    log.info("broker listening on http://%s:%d", cfg.host, cfg.port)
    from broker.exchange import HEADER_LIMITS  # tokens up to max_token_bytes fit a header

    web.run_app(
        app,
        host=cfg.host,
        port=cfg.port,
        path=str(cfg.admin.socket) if cfg.admin.socket is not None else None,  # admin only
        print=None,
        handle_signals=True,
        # Off by default: formatting it cost ~10% of the broker's CPU per session (bench/).
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        loop=loop,
        **HEADER_LIMITS,
    )


def new_event_loop(choice: str) -> asyncio.AbstractEventLoop:
    """The serving loop; uvloop took ~7% off the broker's CPU per session (bench/exchange.py)."""
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise click.UsageError("--event-loop uvloop: uvloop is not installed") from None
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


broker.add_command(explain)
broker.add_command(audit_verify)
broker.add_command(sessions)
