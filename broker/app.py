"""The broker's aiohttp application: factory, error middleware, background resources."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from broker import errors, guard, handlers, session_routes
from broker.app_keys import BACKEND, CLOCK, ISSUERS, RULES, SETTINGS, STORE
from broker.reaper import reaper_ctx
from broker.settings import Settings
from broker.store import SessionStore, open_store
from broker.vault import OpenBaoBackend, VaultBackend
from broker.wire import HEALTH_PATH, SESSIONS_PATH, ErrorBody, Secret

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


def error_response(code: str, message: str, status: int) -> web.Response:
    return web.json_response(ErrorBody(code, message).to_json(), status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.BrokerError as exc:
        if exc.status >= 500:
            log.warning("%s %s -> %s", request.method, request.path, exc.code)
        response = error_response(exc.code, exc.message, exc.status)
        if isinstance(exc, errors.TooManyRequests):
            response.headers.update(exc.headers)  # Retry-After
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "bad_request")
        return error_response(code, exc.reason, exc.status)
    except Exception:
        # The traceback goes to the log (it carries no locals); the caller gets a fixed answer.
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response("internal_error", "internal error", 500)


def make_app(
    settings: Settings,
    backend: VaultBackend,
    store: SessionStore,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[BACKEND] = backend
    app[STORE] = store
    app[CLOCK] = clock
    app[ISSUERS] = {cfg.issuer: cfg for cfg in settings.issuers}
    app[RULES] = settings.rules

    guard.install(
        app, settings, clock
    )  # key cache, audit, metrics, rate limits: first up, last down
    app.cleanup_ctx.append(reaper_ctx(settings.reap_interval_s))
    app.router.add_post(SESSIONS_PATH, handlers.create_session)
    app.router.add_delete(SESSIONS_PATH + "/{session_id}", handlers.delete_session)
    app.router.add_post(SESSIONS_PATH + "/{session_id}/heartbeat", session_routes.heartbeat)
    app.router.add_get(HEALTH_PATH, handlers.healthz)
    return app


async def build_app(
    settings: Settings, token: Secret, admin_token: Secret | None = None
) -> web.Application:
    """The production wiring: OpenBao over HTTP, SQLite or PostgreSQL store, wall clock."""
    store = await open_store(settings.store_location)
    backend = OpenBaoBackend(
        settings.vault.addr, token, settings.vault.token_role, settings.vault.timeout_s
    )
    app = make_app(settings, backend, store)
    if admin_token is not None:
        from broker import admin

        admin.install(app, admin_token, socket_only_mode=settings.admin.socket is not None)

    async def close(_: web.Application) -> None:
        await backend.close()
        await store.close()

    app.on_cleanup.append(close)
    return app
