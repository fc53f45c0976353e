"""``POST /v1/sessions``: identity token in, scoped session out, every decision recorded.

Order (each step's refusal has its own code, and nothing is created before the last step):
size -> parse -> issuer -> algorithm (before any key fetch, so ``none``/HS* never cost a fetch)
-> key -> signature and claims -> rate limits (issuer, subject) -> policy -> per-session ACL
render -> concurrent sessions -> jti replay cache -> open the session in OpenBao.

The jti is spent last, just before opening, so a refused request does not burn the token;
a failure while opening (OpenBao down) does spend it: retrying needs a fresh token, which is
what single use means. Every outcome is one audit ``decision`` record and one metric sample;
neither ever carries the token or the JWT.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from aiohttp import web

from broker import acl, claims, errors, policy
from broker.app_keys import AUDIT, CLOCK, ISSUERS, KEYS, LIMITER, METRICS, RULES, SETTINGS
from broker.audit import AuditError, FieldValue
from broker.lifecycle import OpenedSession, open_session
from broker.wire import SessionCreated

log = logging.getLogger(__name__)
# aiohttp refuses header fields over 8 KiB by default; the size check must see the token first.
HEADER_LIMITS: dict[str, Any] = {"max_field_size": 64 * 1024, "max_line_size": 64 * 1024}
_JSON_HEADERS = MappingProxyType({"Content-Type": "application/json; charset=utf-8"})


@dataclass
class _Seen:
    """What is known about the caller so far (for the audit record of a refusal)."""

    issuer: str = "unknown"
    subject: str | None = None
    rule: str | None = None


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization")
    if header is None or not header.strip():
        raise errors.MissingToken()
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        raise errors.InvalidToken("Authorization header is not 'Bearer <token>'")
    return value


async def create_session(request: web.Request) -> web.Response:
    app = request.app
    started = time.perf_counter()
    seen = _Seen()
    try:
        response = await _exchange(app, request, seen, started)
    except errors.BrokerError as exc:
        result = "denied" if exc.status < 500 else "error"
        _record(app, seen, result, exc.code, time.perf_counter() - started)
        raise
    except Exception:
        _record(app, seen, "error", "internal_error", time.perf_counter() - started)
        raise
    return response


async def _exchange(
    app: web.Application, request: web.Request, seen: _Seen, started: float
) -> web.Response:
    settings = app[SETTINGS]
    token = bearer(request)
    parsed = claims.parse(token, settings.identity.max_token_bytes)
    head = parsed.routing()
    cfg = app[ISSUERS].get(head.issuer)
    if cfg is None:
        raise errors.UnknownIssuer()
    seen.issuer = cfg.label
    claims.check_algorithm(head.alg, cfg)
    key = await app[KEYS].key_for(cfg, head.kid, head.alg)
    now = app[CLOCK]()
    verified = claims.verify_parsed(parsed, key, cfg, now)
    seen.subject = verified.subject

    limiter = app[LIMITER]
    buckets = [("issuer", cfg.label), ("subject", f"{cfg.label}\x00{verified.subject}")]
    verdict = limiter.acquire([b for b in buckets if b[0] in limiter.scopes], now)
    if not verdict.allowed:
        raise errors.RateLimited(verdict.scope or "subject", verdict.retry_after_s)

    rules: tuple[policy.Rule, ...] = app[RULES]
    grant = policy.grant_for(rules, verified.issuer, verified.claims)
    if grant is None:
        raise errors.NoMatchingRule()
    seen.rule = grant.rule
    acl_hcl = acl.render_acl(grant.acl, verified.claims) if grant.acl is not None else None

    # A rule's max_sessions_per_subject is checked by the store in the same atomic step that
    # writes the intent row (SessionStore.insert_pending), so replicas sharing one store cannot
    # both see room for one; at the limit: TooManySessions, nothing created, jti unspent.
    opened = await _open(app, cfg, verified, grant, acl_hcl)

    _audit(
        app,
        "decision",
        result="allow",
        reason="ok",
        issuer=cfg.label,
        subject=verified.subject,
        rule=grant.rule,
        session=opened.session_id,
        accessor=opened.accessor,
    )
    _audit(
        app,
        "issue",
        session=opened.session_id,
        accessor=opened.accessor,
        issuer=cfg.label,
        subject=verified.subject,
        rule=grant.rule,
        policies=list(grant.policies) + ([opened.acl_policy] if opened.acl_policy else []),
        expires_at=int(opened.expires_at),
    )
    app[METRICS].exchange(cfg.label, "allowed", "ok", time.perf_counter() - started)
    body = SessionCreated(
        session_id=opened.session_id,
        token=opened.token,
        accessor=opened.accessor,
        expires_at=opened.expires_at,
    )
    # Encoded once into the body (json_response encodes a str, then sets the charset apart).
    return web.Response(body=json.dumps(body.to_json()).encode(), status=201, headers=_JSON_HEADERS)


async def _open(
    app: web.Application,
    cfg: claims.IssuerConfig,
    verified: claims.VerifiedClaims,
    grant: policy.Grant,
    acl_hcl: str | None,
) -> OpenedSession:
    jti = None
    if verified.jti is not None and cfg.single_use_jti:
        # Spent by open_session in the same store write as the session's intent row.
        jti = (verified.issuer, verified.jti, verified.expires_at + cfg.leeway_s)
    return await open_session(
        app,
        identity=verified,
        grant=grant,
        acl_hcl=acl_hcl,
        jti=jti,
        max_active_for_subject=grant.max_sessions_per_subject,
    )


def _audit(app: web.Application, event: str, **fields: FieldValue) -> None:
    audit = app.get(AUDIT)
    if audit is None:
        return
    try:
        audit.record(event, **fields)
    except AuditError:
        # An issuer-chosen subject shaped like a token is refused by the audit log; record
        # the decision without it rather than fail the request.
        log.warning("audit %s record refused a field; subject withheld", event)
        audit.record(event, **{**fields, "subject": "<withheld>"})


def _record(app: web.Application, seen: _Seen, result: str, code: str, duration_s: float) -> None:
    app[METRICS].exchange(seen.issuer, result, code, duration_s)
    log.info(
        "exchange %s: %s issuer=%s subject=%s rule=%s",
        result, code, seen.issuer, seen.subject, seen.rule,
    )  # fmt: skip
    _audit(
        app,
        "decision",
        result="deny" if result == "denied" else "error",
        reason=code,
        issuer=seen.issuer,
        subject=seen.subject,
        rule=seen.rule,
    )
