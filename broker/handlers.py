"""HTTP handlers: thin glue between the wire, the pure core and the I/O edges."""

from __future__ import annotations

import logging

from aiohttp import web

from broker import claims, errors, policy
from broker.app_keys import BACKEND, CLOCK, ISSUERS, KEYS, RULES, STORE
from broker.sessions import FINAL, State, bearer_matches, new_session_id, token_digest
from broker.store import SessionRecord
from broker.wire import Secret, SessionCreated

log = logging.getLogger(__name__)


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
    now = app[CLOCK]()
    token = bearer(request)
    head = claims.peek(token)
    cfg = app[ISSUERS].get(head.issuer)
    if cfg is None:
        raise errors.UnknownIssuer()
    key = await app[KEYS].key_for(cfg, head.kid)
    verified = claims.verify(token, key, cfg, now)
    rules: tuple[policy.Rule, ...] = app[RULES]
    grant = policy.grant_for(rules, verified.issuer, verified.claims)
    if grant is None:
        log.info("no rule matched issuer=%s subject=%s", verified.issuer, verified.subject)
        raise errors.NoMatchingRule()

    session_id = new_session_id()
    issued = await app[BACKEND].create_token(
        policies=grant.policies,
        ttl_s=grant.ttl_s,
        no_default_policy=grant.no_default_policy,
        metadata={
            "sluice_session": session_id,
            "subject": verified.subject,
            "issuer": verified.issuer,
            "rule": grant.rule,
        },
        display_name=f"sluice-{grant.rule}",
    )
    expires_at = now + issued.ttl_s
    record = SessionRecord(
        id=session_id,
        state=State.ACTIVE,
        issuer=verified.issuer,
        subject=verified.subject,
        rule=grant.rule,
        policies=issued.policies,
        accessor=issued.accessor,
        token_sha256=token_digest(issued.token.reveal()),
        created_at=now,
        expires_at=expires_at,
    )
    try:
        await app[STORE].insert(record)
    except BaseException:
        # Unrecorded tokens could never be ended by their holder: take it back.
        try:
            await app[BACKEND].revoke_accessor(issued.accessor)
        except errors.BrokerError as exc:
            log.error(
                "session %s unrecorded and not revoked (%s); it lapses at its ttl",
                session_id,
                exc.code,
            )
        raise
    log.info(
        "session %s opened subject=%s rule=%s ttl_s=%d",
        session_id,
        verified.subject,
        grant.rule,
        issued.ttl_s,
    )
    body = SessionCreated(
        session_id=session_id, token=issued.token, accessor=issued.accessor, expires_at=expires_at
    )
    return web.json_response(body.to_json(), status=201)


async def delete_session(request: web.Request) -> web.Response:
    app = request.app
    presented = Secret(bearer(request))
    session_id = request.match_info["session_id"]
    record = await app[STORE].get(session_id)
    if record is None:
        raise errors.SessionNotFound()
    if not bearer_matches(record.token_sha256, presented.reveal()):
        raise errors.Forbidden("bearer is not this session's token")
    if record.state in FINAL:
        return web.Response(status=204)  # ending twice is not an error: the caller's goal holds
    store = app[STORE]
    await store.transition(session_id, [State.ACTIVE], State.ENDING)
    await app[BACKEND].revoke_accessor(record.accessor)
    await store.transition(session_id, [State.ENDING], State.ENDED, at=app[CLOCK]())
    log.info("session %s ended subject=%s", session_id, record.subject)
    return web.Response(status=204)


async def healthz(request: web.Request) -> web.Response:
    vault_ok = await request.app[BACKEND].health()
    return web.json_response(
        {"status": "ok" if vault_ok else "degraded", "vault": vault_ok},
        status=200 if vault_ok else 503,
    )
