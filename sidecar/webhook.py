"""`sluice sidecar webhook`: the mutating admission webhook, HTTPS on aiohttp.

POST /mutate answers AdmissionReviews with `inject.respond`; GET /healthz says it is up. The
log carries namespace, name, uid and the decision of each review, never the pod spec (its env
may hold secrets). A body that is not an AdmissionReview gets a 400 JSON error, so the API
server's failurePolicy applies. The certificate is re-read when its file changes (cert-manager
renews it in the mounted Secret), without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from broker.wire import ErrorBody
from sidecar.errors import ConfigError, InjectError
from sidecar.inject import InjectionConfig, respond

log = logging.getLogger("sidecar.webhook")
MUTATE_PATH = "/mutate"
HEALTH_PATH = "/healthz"
CONFIG = web.AppKey("config", InjectionConfig)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR"}
_PULL_POLICIES = {"Always", "IfNotPresent", "Never"}
_QUANTITY_KEYS = {"requests", "limits"}


@dataclass(frozen=True)
class WebhookSettings:
    config: InjectionConfig
    cert_file: Path
    key_file: Path
    host: str = "127.0.0.1"
    port: int = 8443
    max_body_bytes: int = 2 * 1024 * 1024  # the API server caps objects at ~1.5 MiB
    cert_check_s: float = 60.0


def load_config(raw: object) -> InjectionConfig:
    """The injection config from a parsed YAML mapping; every problem reported at once."""
    if not isinstance(raw, dict):
        raise ConfigError("webhook config: must be a mapping")
    known = set(InjectionConfig.__dataclass_fields__)
    problems = [f"{key}: unknown field" for key in sorted(map(str, raw)) if key not in known]
    values: dict[str, Any] = {}

    def take(key: str, kind: type, check: Callable[[Any], bool], why: str) -> None:
        if key not in raw:
            return
        value = raw[key]
        if isinstance(value, bool) and kind is not bool:
            ok = False
        else:
            ok = isinstance(value, kind) and check(value)
        if ok:
            values[key] = value
        else:
            problems.append(f"{key}: {why}")

    def text(value: str) -> bool:
        return bool(value) and value.isprintable()

    def url(value: str) -> bool:
        return text(value) and value.startswith(("http://", "https://"))

    def directory(value: str) -> bool:
        # the socket path must stay under the 108-byte sun_path cap
        return text(value) and value.startswith("/") and len(value.encode()) <= 70

    for key in ("image", "broker_url"):
        if key not in raw:
            problems.append(f"{key}: required")
    take("image", str, text, "must be a non-empty string")
    take("broker_url", str, url, "must be an http(s) URL")
    take("audience", str, text, "must be a non-empty string")
    take("token_expiration_s", int, lambda v: 600 <= v <= 2**31, "must be 600 .. 2^31 seconds")
    take("socket_dir", str, directory, "must be an absolute path of at most 70 bytes")
    take("image_pull_policy", str, _PULL_POLICIES.__contains__, f"one of {sorted(_PULL_POLICIES)}")
    take("run_as_user", int, lambda v: 0 < v < 2**31, "must be a non-root uid")
    take("resources", dict, _resources, "must be {requests: {...}, limits: {...}} of quantities")
    take("log_level", str, _LOG_LEVELS.__contains__, f"one of {sorted(_LOG_LEVELS)}")
    take("allow_uids", list, lambda v: all(_uid(u) for u in v), "must be a list of uids")
    take("extra_args", list, lambda v: all(isinstance(a, str) for a in v), "must be strings")
    take("native_sidecar", bool, lambda v: True, "must be true or false")
    take("startup_timeout_s", int, lambda v: 1 <= v <= 3600, "must be 1 .. 3600 seconds")
    take("failure_policy", str, {"Fail", "Ignore"}.__contains__, "must be Fail or Ignore")
    if problems:
        raise ConfigError("webhook config: " + "; ".join(problems))
    for key in ("allow_uids", "extra_args"):
        if key in values:
            values[key] = tuple(values[key])
    return InjectionConfig(**values)


def read_config(path: Path) -> InjectionConfig:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read webhook config {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"webhook config {path} is not YAML") from exc
    return load_config(raw)


def _uid(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


def _resources(value: dict[Any, Any]) -> bool:
    return set(value) <= _QUANTITY_KEYS and all(
        isinstance(q, dict)
        and all(isinstance(k, str) and isinstance(v, str | int) for k, v in q.items())
        for q in value.values()
    )


def _error(code: str, message: str, status: int) -> web.Response:
    return web.json_response(ErrorBody(code, message).to_json(), status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(_HTTP_CODES.get(exc.status, "bad_request"), exc.reason, exc.status)
    except Exception as exc:  # noqa: BLE001 - a fixed answer, never a traceback
        # No traceback: its exception message could quote part of a pod spec.
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.path)
        return _error("internal_error", "internal error", 500)


async def mutate(request: web.Request) -> web.Response:
    body = await request.read()  # over client_max_size: 413 from aiohttp
    try:
        review = json.loads(body)
        decision = respond(review, request.app[CONFIG])
    except (ValueError, RecursionError):
        log.warning("admission refused: body is not JSON")
        return _error("malformed_review", "the body is not JSON", 400)
    except InjectError as exc:
        log.warning("admission refused: %s", exc.code)
        return _error(exc.code, exc.message, 400)
    log.info(
        "admission %s pod %s/%s uid=%s",
        decision.outcome,
        decision.namespace or "-",
        decision.name or "-",
        decision.uid,
    )
    return web.json_response(decision.response)


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def make_app(config: InjectionConfig, max_body_bytes: int) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=max_body_bytes)
    app[CONFIG] = config
    app.router.add_post(MUTATE_PATH, mutate)
    app.router.add_get(HEALTH_PATH, healthz)
    return app


def tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_chain(context, cert_file, key_file)
    return context


def _load_chain(context: ssl.SSLContext, cert_file: Path, key_file: Path) -> None:
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load TLS certificate {cert_file} and its key") from exc


def _stamp(*paths: Path) -> tuple[float, ...]:
    return tuple(path.stat().st_mtime for path in paths)


def cert_reloader(
    context: ssl.SSLContext, settings: WebhookSettings
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx task reloading the chain into ``context`` when the files change."""
    files = (settings.cert_file, settings.key_file)

    async def watch() -> None:
        seen = _stamp(*files)
        while True:
            await asyncio.sleep(settings.cert_check_s)
            try:
                now = _stamp(*files)
                if now != seen:
                    _load_chain(context, *files)  # new handshakes get the new certificate
                    seen = now
                    log.info("TLS certificate reloaded")
            except (OSError, ConfigError):
                log.warning("TLS certificate unreadable; keeping the loaded one")

    async def ctx(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(watch(), name="sluice-webhook-cert")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


async def serve(settings: WebhookSettings) -> int:
    """Serve HTTPS until SIGTERM/SIGINT; exit 0."""
    context = tls_context(settings.cert_file, settings.key_file)
    app = make_app(settings.config, settings.max_body_bytes)
    app.cleanup_ctx.append(cert_reloader(context, settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port, ssl_context=context)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {settings.host}:{settings.port}") from exc
        log.info("webhook listening on https://%s:%d%s", settings.host, settings.port, MUTATE_PATH)
        await stop.wait()
        log.info("signal received, stopping")
    finally:
        await runner.cleanup()
    return 0
