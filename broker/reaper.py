"""Background upkeep of the session table, safe to run on every replica at once.

Each pass: active sessions past their deadline (TTL reached or heartbeat missed) become
``ending(expired)`` and are revoked; ``ending`` sessions whose retry is due are revoked again;
pending rows abandoned by a crash are reconciled. Every row is claimed by one replica in the
statement that selects it (see ``broker/store_sql.py``), so each session is revoked once.
Revocations run concurrently, bounded by ``sessions.revoke_concurrency``. A failing pass is
logged and retried next interval; it never stops the broker. At start-up, one reconciliation
against OpenBao's accessor list revokes tokens left behind by a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from broker import errors
from broker.app_keys import CLOCK, STORE
from broker.lifecycle import session_settings, settle
from broker.reconcile import reconcile, settle_stale_pending
from broker.sessions import FINAL, State
from broker.store import SessionRecord

log = logging.getLogger(__name__)
MAX_BATCHES = 50  # per pass and kind: bounds a pass; the rest waits for the next one


@dataclass(frozen=True)
class Pass:
    expired: int  # sessions moved to ending(expired) this pass
    ended: int  # sessions OpenBao confirmed revoked this pass
    failed: int  # revocations that failed and will be retried
    abandoned: int = 0  # pending rows settled after a crash


async def settle_all(app: web.Application, records: Iterable[SessionRecord]) -> list[State]:
    """Revoke claimed ``ending`` sessions concurrently, at most ``revoke_concurrency`` at once."""
    gate = asyncio.Semaphore(session_settings(app).revoke_concurrency)

    async def one(record: SessionRecord) -> State:
        async with gate:
            return await settle(app, record)

    return list(await asyncio.gather(*(one(r) for r in records)))


async def reap_once(app: web.Application) -> Pass:
    store, cfg = app[STORE], session_settings(app)
    expired = ended = failed = 0
    for claim_expired in (True, False):
        for _ in range(MAX_BATCHES):
            now = app[CLOCK]()
            if claim_expired:
                batch = await store.expire_due(now, now + cfg.claim_s, cfg.reap_batch)
                expired += len(batch)
            else:
                batch = await store.claim_ending(now, now + cfg.claim_s, cfg.reap_batch)
            outcomes = await settle_all(app, batch)
            ended += sum(1 for s in outcomes if s in FINAL)
            failed += sum(1 for s in outcomes if s is State.ENDING)
            if len(batch) < cfg.reap_batch:
                break
    abandoned = await settle_stale_pending(app)
    return Pass(expired, ended, failed, abandoned)


def reaper_ctx(
    interval_s: float,
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            unreconciled = session_settings(app).reconcile_at_start
            while True:
                if unreconciled:
                    unreconciled = not await _reconcile_logged(app)
                await asyncio.sleep(interval_s)
                try:
                    await reap_once(app)
                except Exception:
                    log.exception("reaper pass failed")

        task = asyncio.create_task(loop(), name="sluice-reaper")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


async def _reconcile_logged(app: web.Application) -> bool:
    try:
        result = await reconcile(app)
    except errors.BrokerError as exc:
        log.warning("start-up reconciliation failed (%s); retried next pass", exc.code)
        return False
    except Exception:
        log.exception("start-up reconciliation failed; retried next pass")
        return False
    log.info(
        "start-up reconciliation: %d accessors, %d of ours, %d revoked",
        result.scanned, result.tagged, result.revoked,
    )  # fmt: skip
    return True
