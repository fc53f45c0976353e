"""HTTP handlers: thin glue between the wire, the pure core and the I/O edges."""

from __future__ import annotations

import logging

from aiohttp import web

from broker import exchange
from broker.app_keys import BACKEND
from broker.exchange import bearer

__all__ = ["bearer", "create_session", "delete_session", "healthz"]  # bearer: session routes

log = logging.getLogger(__name__)


async def create_session(request: web.Request) -> web.Response:
    """Exchange an identity token for a session (``broker.exchange`` holds the decision path)."""
    return await exchange.create_session(request)


async def delete_session(request: web.Request) -> web.Response:
    from broker.session_routes import delete_session as end  # it imports bearer() from here

    return await end(request)


async def healthz(request: web.Request) -> web.Response:
    vault_ok = await request.app[BACKEND].health()
    return web.json_response(
        {"status": "ok" if vault_ok else "degraded", "vault": vault_ok},
        status=200 if vault_ok else 503,
    )
