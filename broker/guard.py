"""Wiring of the identity side into the app: key cache, audit log, metrics, rate limits.

``install(app, settings, clock)`` is called once by ``make_app``. It puts the audit sink under
``AUDIT``, the metrics under ``METRICS`` and the limiter under ``LIMITER``; wraps ``BACKEND`` so
every OpenBao call is timed; starts the key
cache (warmed in the background, so an unreachable issuer never delays start-up) and adds
``GET /metrics``. Everything opened here is closed in the same cleanup context.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from broker import errors
from broker.app_keys import AUDIT, BACKEND, KEYS, LIMITER, METRICS, STORE
from broker.audit_sink import AuditSink
from broker.jwks import KeyCache
from broker.metered import MeteredBackend
from broker.metrics import BrokerMetrics, exposition
from broker.ratelimit import RateLimiter
from broker.sessions import State
from broker.settings import Settings

log = logging.getLogger(__name__)
METRICS_PATH = "/metrics"


def error_codes() -> set[str]:
    """Every stable code an exchange can end with (metric label values, fixed at start-up)."""
    from broker import acl

    codes = set()
    for module in (errors, acl):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, errors.BrokerError):
                codes.add(value.code)
    return codes


def install(app: web.Application, settings: Settings, clock: Callable[[], float]) -> None:
    identity = settings.identity
    metrics = BrokerMetrics(
        CollectorRegistry(auto_describe=True),
        [cfg.label for cfg in settings.issuers],
        reasons=error_codes(),
    )
    app[METRICS] = metrics
    app[BACKEND] = MeteredBackend(app[BACKEND], metrics)
    app[LIMITER] = RateLimiter(identity.rate_limits)

    async def identity_ctx(app: web.Application) -> AsyncIterator[None]:
        audit = None
        if identity.audit.path is not None:
            # A second broker on the same file fails here (AuditLogLocked): one chain, one writer.
            identity.audit.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            audit = AuditSink(identity.audit.path, fsync=identity.audit.fsync)
            app[AUDIT] = audit
            audit.record("startup", issuers=[cfg.label for cfg in settings.issuers])
        else:
            log.warning("no audit log configured (audit.path): decisions are not recorded")
        async with aiohttp.ClientSession() as http:
            keys = KeyCache(
                http,
                clock,
                settings.http_timeout_s,
                settings.jwks_min_refresh_s,
                on_refresh=metrics.jwks_refresh,
            )
            app[KEYS] = keys
            warm = asyncio.create_task(keys.warm(settings.issuers), name="sluice-jwks-warm")
            try:
                yield
            finally:
                warm.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await warm
                await keys.close()
                if audit is not None:
                    audit.record("shutdown")
                    await asyncio.to_thread(audit.close)

    app.cleanup_ctx.append(identity_ctx)
    app.router.add_get(METRICS_PATH, metrics_handler)


async def metrics_handler(request: web.Request) -> web.Response:
    app = request.app
    metrics = app[METRICS]
    try:
        # Counted at scrape time, not per request: the exchange path stays one write lighter.
        by_state = await app[STORE].count_by_state()
        metrics.sessions_active.set(by_state.get(State.ACTIVE, 0))
    except (errors.BrokerError, AttributeError, OSError) as exc:
        log.warning("active sessions not counted for /metrics: %s", type(exc).__name__)
    body, content_type = exposition(metrics.registry, request.headers.get("Accept"))
    return web.Response(body=body, headers={"Content-Type": content_type})
