"""Opening and ending sessions: intents first, OpenBao second, the record last.

Invariants:
- Opening writes a ``pending`` row before OpenBao is asked for anything, and the token carries
  the session id in its metadata (``sluice_session``); so a broker killed at any point leaves
  either nothing in OpenBao or a token the reconciler can find and match to its row.
- Ending is ``active -> ending(cause)`` first (a durable intent, claimed by this replica),
  then one ``revoke-accessor`` (the token, its children and every lease obtained through it
  die together) and the per-session ACL policy's deletion, and only when OpenBao confirmed
  both does the row reach its final state. A failure leaves it ``ending`` with a backoff;
  the reaper (any replica) retries it. Ending twice is not an error.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from broker import acl, errors
from broker.app_keys import AUDIT, BACKEND, CLOCK, METRICS, SETTINGS, STORE
from broker.audit import AuditError
from broker.claims import VerifiedClaims
from broker.policy import Grant
from broker.sessions import (
    FINAL,
    State,
    heartbeat_deadline,
    new_session_id,
    retry_delay_s,
    token_digest,
)
from broker.settings_sessions import SessionSettings
from broker.store import SessionRecord
from broker.vault import TokenRequest
from broker.wire import Secret

log = logging.getLogger(__name__)

# Which revocation-metric cause each final state counts under.
_METRIC_CAUSE = {State.ENDED: "session_end", State.EXPIRED: "expired", State.REVOKED: "admin"}


@dataclass(frozen=True)
class OpenedSession:
    session_id: str
    token: Secret
    accessor: str
    expires_at: float
    acl_policy: str | None = None


@dataclass(frozen=True)
class EndOutcome:
    session_id: str
    state: State  # a final state, or ENDING while OpenBao has not confirmed
    claimed: bool = True  # False: this call did not start the end (already ending/ended, ...)


def session_settings(app: web.Application) -> SessionSettings:
    return getattr(app[SETTINGS], "sessions", None) or SessionSettings()


def audit(app: web.Application, event: str, **fields: Any) -> None:
    """Write an audit record when the app has an audit log (``audit.path`` configured)."""
    sink = app.get(AUDIT)
    if sink is None:
        return
    try:
        sink.append(event, datetime.now(UTC), **fields)
    except AuditError:
        # An issuer-chosen subject shaped like a token is refused: keep the record without it.
        sink.append(event, datetime.now(UTC), **{**fields, "subject": "<withheld>"})
    except Exception:  # the audit log failing must not leave a session half-ended
        log.exception("audit record %s not written", event)


def count_revocation(app: web.Application, cause: State | str) -> None:
    metrics = app.get(METRICS)
    if metrics is not None:
        label = cause if isinstance(cause, str) else _METRIC_CAUSE.get(cause, "session_end")
        metrics.revocation(label)


async def open_session(
    app: web.Application,
    *,
    identity: VerifiedClaims,
    grant: Grant,
    acl_hcl: str | None,
    jti: tuple[str, str, float] | None = None,
    max_active_for_subject: int | None = None,
) -> OpenedSession:
    """Open a session; with ``jti`` (issuer, jti, remembered until) spend it first.

    A ``jti`` already spent and still live raises ReplayedToken before anything is created.
    With ``max_active_for_subject``, a subject already holding that many pending or active
    sessions (on any replica) raises TooManySessions before anything is created or spent.
    """
    cfg = session_settings(app)
    try:
        async with asyncio.timeout(cfg.open_timeout_s):  # bounds how long a pending row is young
            return await _open(app, identity, grant, acl_hcl, cfg, jti, max_active_for_subject)
    except TimeoutError as exc:
        log.warning("session open abandoned after %.0fs", cfg.open_timeout_s)
        raise errors.VaultUnavailable("opening the session took too long") from exc


async def _open(
    app: web.Application,
    identity: VerifiedClaims,
    grant: Grant,
    acl_hcl: str | None,
    cfg: SessionSettings,
    jti: tuple[str, str, float] | None,
    max_active_for_subject: int | None,
) -> OpenedSession:
    store, backend, now = app[STORE], app[BACKEND], app[CLOCK]()
    session_id = new_session_id()
    policy_name = acl.policy_name(session_id) if acl_hcl else None
    expires_at = now + grant.ttl_s
    # The replay-cache entry and the intent row go in together (one write on SQLite), with the
    # subject's session count when its rule has a limit (one atomic step on every backend);
    # the row is durable before OpenBao is asked for anything.
    fresh = await store.insert_pending(
        SessionRecord(
            id=session_id,
            state=State.PENDING,
            issuer=identity.issuer,
            subject=identity.subject,
            rule=grant.rule,
            policies=grant.policies,
            accessor=None,
            token_sha256=None,
            created_at=now,
            expires_at=expires_at,
            acl_policy=policy_name,
            deadline_at=heartbeat_deadline(now, expires_at, cfg.heartbeat_window_s),
        ),
        jti,
        now,
        max_active_for_subject,
    )
    if not fresh:
        raise errors.ReplayedToken()
    accessor: str | None = None
    asked = False
    try:
        if policy_name is not None and acl_hcl is not None:
            await backend.write_policy(policy_name, acl_hcl)
        asked = True
        issued = await backend.create_token(
            TokenRequest(
                policies=grant.policies + ((policy_name,) if policy_name else ()),
                ttl_s=grant.ttl_s,
                no_default_policy=grant.no_default_policy,
                metadata={
                    "sluice_session": session_id,
                    "sluice_store": await store.store_id(),
                    "subject": identity.subject,
                    "issuer": identity.issuer,
                    "rule": grant.rule,
                },
                display_name=f"sluice-{grant.rule}",
                max_ttl_s=grant.max_ttl_s,
                renewable=grant.renewable,
                num_uses=grant.num_uses,
            )
        )
        accessor = issued.accessor
        expires_at = now + issued.ttl_s
        deadline = heartbeat_deadline(now, expires_at, cfg.heartbeat_window_s)
        if not await store.activate(
            session_id, issued.accessor, token_digest(issued.token.reveal()), expires_at, deadline
        ):
            raise errors.BrokerError("session intent vanished before activation")
    except BaseException as exc:
        # A refused create made no token; a lost answer (timeout, crash) may have made one.
        unknown = (
            asked
            and accessor is None
            and not isinstance(exc, errors.VaultRejected)
            and getattr(exc, "request_sent", True)
        )
        await asyncio.shield(_abandon(app, session_id, accessor, policy_name, unknown))
        raise
    # DEBUG: the audit log's ``issue`` record already says this; at INFO this line cost
    # ~10% of the broker's CPU per session (bench/exchange.py profile).
    log.debug(
        "session %s opened subject=%s rule=%s ttl_s=%d",
        session_id, identity.subject, grant.rule, issued.ttl_s,
    )  # fmt: skip
    return OpenedSession(session_id, issued.token, issued.accessor, expires_at, policy_name)


async def _abandon(
    app: web.Application,
    session_id: str,
    accessor: str | None,
    policy_name: str | None,
    token_unknown: bool,
) -> None:
    """Undo a half-open session; what cannot be confirmed now stays ``pending``.

    A stale ``pending`` row is settled by the reconciler, which lists OpenBao's accessors and
    revokes any token tagged with a session that is not active.
    """
    backend = app[BACKEND]
    try:
        if accessor:
            await backend.revoke_accessor(accessor)
        if policy_name:
            await backend.delete_policy(policy_name)
    except errors.BrokerError as exc:
        log.error("session %s half-open, left to the reconciler (%s)", session_id, exc.code)
        return
    if not token_unknown:
        await app[STORE].transition(session_id, [State.PENDING], State.ENDED, app[CLOCK]())


async def end_session(
    app: web.Application,
    session_id: str,
    cause: State = State.ENDED,
    *,
    token_sha256: str | None = None,
) -> EndOutcome:
    """Ask for the end of a session and try to confirm it with OpenBao right away.

    With ``token_sha256`` the claim succeeds only for the session's own bearer; a caller that
    gets back ACTIVE must then tell "wrong bearer" from "no such session" itself.
    """
    now = app[CLOCK]()
    claimed = await app[STORE].request_end(
        session_id, cause, now + session_settings(app).claim_s, token_sha256
    )
    if claimed is None:
        current = await app[STORE].get(session_id)
        if current is None:
            raise errors.SessionNotFound()
        return EndOutcome(session_id, current.state, claimed=False)
    return EndOutcome(session_id, await settle(app, claimed))


async def settle(app: web.Application, record: SessionRecord) -> State:
    """Revoke a claimed ``ending`` session in OpenBao; final state on success, else ENDING."""
    store, backend = app[STORE], app[BACKEND]
    cause = record.end_cause or State.ENDED
    try:
        if record.accessor:
            await backend.revoke_accessor(record.accessor)
        if record.acl_policy:
            await backend.delete_policy(record.acl_policy)
    except errors.BrokerError as exc:
        delay = retry_delay_s(record.attempts, session_settings(app).retry_max_s)
        await store.retry_later(record.id, app[CLOCK]() + delay)
        log.warning("session %s still ending (%s), retry in %.1fs", record.id, exc.code, delay)
        return State.ENDING
    if not await store.finish_end(record.id, app[CLOCK]()):
        current = await store.get(record.id)  # another replica finished it first
        return current.state if current else cause
    count_revocation(app, cause)
    audit(app, "revoke", session=record.id, accessor=record.accessor or "", cause=cause.value)
    if record.acl_policy:
        audit(app, "policy_delete", session=record.id, policy=record.acl_policy)
    audit(app, "session_end", session=record.id, subject=record.subject, state=cause.value)
    # A session its holder ended is routine (the ``revoke`` and ``session_end`` records above
    # say it): DEBUG. Expiry and admin revocation stay visible at INFO.
    log.log(
        logging.DEBUG if cause is State.ENDED else logging.INFO,
        "session %s revoked cause=%s subject=%s", record.id, cause.value, record.subject,
    )  # fmt: skip
    return cause


def is_final(state: State) -> bool:
    return state in FINAL
