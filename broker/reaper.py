"""Background upkeep of the session table.

Each pass: active sessions past ``expires_at`` are marked ``expired`` (OpenBao has already
dropped their tokens); sessions stuck in ``ending`` (their revoke failed, e.g. OpenBao was down)
are revoked again and marked ``ended``. A failing pass is logged and retried next interval; it
never stops the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from broker import errors
from broker.app_keys import BACKEND, CLOCK, STORE
from broker.sessions import State

log = logging.getLogger(__name__)
BATCH = 100


@dataclass(frozen=True)
class Pass:
    expired: int
    ended: int
    failed: int


async def reap_once(app: web.Application) -> Pass:
    store, backend, now = app[STORE], app[BACKEND], app[CLOCK]()
    expired = await store.expire_due(now)
    ended = failed = 0
    for record in await store.in_state(State.ENDING, BATCH):
        try:
            await backend.revoke_accessor(record.accessor)
        except errors.BrokerError as exc:
            failed += 1
            log.warning("session %s still ending: %s", record.id, exc.code)
            continue
        if await store.transition(record.id, [State.ENDING], State.ENDED, at=now):
            ended += 1
            log.info("session %s ended by the reaper", record.id)
    return Pass(expired, ended, failed)


def reaper_ctx(
    interval_s: float,
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
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
