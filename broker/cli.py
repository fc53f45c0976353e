"""``sluice broker``: serve the session API."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
from aiohttp import web

from broker import settings as settings_mod
from broker.audit_cli import audit_verify
from broker.config_marks import describe
from broker.errors import ConfigError
from broker.explain import explain

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
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
)
def serve(config_path: Path | None, host: str | None, port: int | None, log_level: str) -> None:
    """Serve POST/DELETE /v1/sessions and /healthz."""
    logging.basicConfig(
        level=log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["listen.host"] = host
    if port is not None:
        overrides["listen.port"] = port
    try:
        cfg = settings_mod.load(config_path, os.environ, overrides)
        from broker.app import build_app  # heavier imports only once config is sound
        from broker.vault import read_token_file

        token = read_token_file(cfg.vault.token_file)
        app = build_app(cfg, token)
    except ConfigError as exc:
        for where, why in exc.problems:
            click.echo(f"config error: {describe(where, why)}", err=True)
        sys.exit(2)
    log.info("broker listening on http://%s:%d", cfg.host, cfg.port)
    from broker.exchange import HEADER_LIMITS  # tokens up to max_token_bytes fit a header

    web.run_app(
        app, host=cfg.host, port=cfg.port, print=None, handle_signals=True, **HEADER_LIMITS
    )


broker.add_command(explain)
broker.add_command(audit_verify)
