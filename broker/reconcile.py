"""Reconciliation against OpenBao: find every token this deployment issued and revoke the ones
whose session is not alive.

Why: the store is written before OpenBao (an intent), but a broker killed after OpenBao
issued a token and before the answer was recorded leaves a token whose accessor nobody knows.
Tokens carry ``sluice_session`` and ``sluice_store`` in their metadata, so listing accessors
(``LIST auth/token/accessors``, needs ``list`` + ``sudo``) and looking each up finds them.

A tagged token is kept when its session is ``active``, ``ending`` (the ending path revokes it
and records the outcome) or ``pending`` and younger than the grace (an open in flight on some
replica). Every other tagged token of this store is revoked: its session ended, expired, was
revoked, was abandoned by a crash, or is unknown.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web

from broker import errors
from broker.app_keys import BACKEND, CLOCK, STORE
from broker.lifecycle import audit, count_revocation, session_settings
from broker.sessions import State, token_must_die

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconciled:
    scanned: int  # accessors looked up
    tagged: int  # tokens of this store
    revoked: int


async def reconcile(app: web.Application) -> Reconciled:
    store, backend = app[STORE], app[BACKEND]
    cfg = session_settings(app)
    store_id = await store.store_id()
    accessors = await backend.list_accessors()
    gate = asyncio.Semaphore(cfg.revoke_concurrency)

    async def tag_of(accessor: str) -> tuple[str, str] | None:
        async with gate:
            data = await backend.lookup_accessor(accessor)
        meta = (data or {}).get("meta") or {}
        if not isinstance(meta, dict) or meta.get("sluice_store") != store_id:
            return None
        session = meta.get("sluice_session")
        return (accessor, session) if isinstance(session, str) else None

    found = [t for t in await asyncio.gather(*map(tag_of, accessors)) if t is not None]
    records = await store.states_of(session for _, session in found)
    now = app[CLOCK]()
    doomed = []
    for accessor, session in found:
        rec = records.get(session)
        state, created_at = (rec.state, rec.created_at) if rec else (None, 0.0)
        if token_must_die(state, created_at, now, cfg.pending_grace_s):
            doomed.append((accessor, session))

    async def revoke(accessor: str, session: str) -> bool:
        async with gate:
            try:
                await backend.revoke_accessor(accessor)
            except errors.BrokerError as exc:
                log.warning("reconciler: token of session %s not revoked (%s)", session, exc.code)
                return False
        log.info("reconciler revoked a token of session %s", session)
        count_revocation(app, "reaper")
        audit(app, "revoke", session=session, accessor=accessor, cause="reconcile")
        return True

    revoked = sum(await asyncio.gather(*(revoke(a, s) for a, s in doomed)))
    return Reconciled(scanned=len(accessors), tagged=len(found), revoked=revoked)


async def settle_stale_pending(app: web.Application) -> int:
    """Pending rows older than the grace: reconcile once, then mark them ended.

    Returns how many rows were settled; none when OpenBao could not be reconciled.
    """
    store, backend, now = app[STORE], app[BACKEND], app[CLOCK]()
    cfg = session_settings(app)
    stale = await store.stale_pending(now - cfg.pending_grace_s, cfg.reap_batch)
    if not stale:
        return 0
    result = await reconcile(app)  # revokes any token these rows' opens left behind
    settled = 0
    for rec in stale:
        try:
            if rec.acl_policy:
                await backend.delete_policy(rec.acl_policy)
        except errors.BrokerError as exc:
            log.warning("session %s abandoned, its policy not deleted yet (%s)", rec.id, exc.code)
            continue
        if await store.transition(rec.id, [State.PENDING], State.ENDED, app[CLOCK]()):
            settled += 1
            audit(app, "session_end", session=rec.id, subject=rec.subject, state="abandoned")
    log.info("settled %d abandoned opens (reconciler revoked %d)", settled, result.revoked)
    return settled
