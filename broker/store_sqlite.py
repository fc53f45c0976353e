"""SQLite backend (WAL): the embedded default for a single broker.

Invariants: blocking sqlite3 calls run in a worker thread behind one lock, never on the event
loop; each statement is its own transaction (autocommit), so every compare-and-set and claim
is atomic, except an exchange's replay-cache entry and intent row, written in one transaction
(with the subject's session count when its rule has a limit: ``BEGIN IMMEDIATE`` takes the
write lock first, so no other writer, thread or process, can slip in between the count and the
insert); migrations run at open, each in one transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from broker import errors
from broker.store import SessionRecord
from broker.store_schema import MIGRATIONS, MIGRATIONS_TABLE, STORE_INFO_TABLE
from broker.store_sql import (
    COUNT_ACTIVE,
    INSERT,
    JTI_LIVE,
    JTI_PURGE,
    JTI_UPSERT,
    JtiSpend,
    SqlStore,
    insert_params,
)

T = TypeVar("T")


class SqliteStore(SqlStore):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._pending: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    def _migrate(self) -> None:
        self._db.execute(MIGRATIONS_TABLE)
        self._db.execute(STORE_INFO_TABLE)
        done = {row[0] for row in self._db.execute("SELECT version FROM schema_migrations")}
        for version, script in MIGRATIONS[self.dialect]:
            if version in done:
                continue
            # executescript commits first; wrap the script so it applies whole or not at all.
            try:
                self._db.executescript(
                    "BEGIN IMMEDIATE;\n"
                    + script
                    + f"\nINSERT INTO schema_migrations (version, applied_at) VALUES"
                    f" ({version}, {time.time()!r});\nCOMMIT;"
                )
            except sqlite3.Error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    async def _run(self, fn: Callable[[], T]) -> T:
        # Calls queue up and one drainer runs whatever has gathered in a single worker-thread
        # hop: a hop per statement cost ~5% of the broker's CPU per statement under load
        # (bench/exchange.py), far more than the statements themselves. Each call is still
        # its own autocommit statement, run in arrival order.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((fn, future))
        drainer = self._drainer
        if drainer is None or drainer.done() or drainer.get_loop() is not loop:
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                outcomes = await asyncio.to_thread(self._run_batch, [fn for fn, _ in batch])
            except BaseException:
                for _, future in batch:
                    future.cancel()
                raise
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done() or future.get_loop() is not loop:
                    continue  # the caller gave up (cancelled), or its loop is gone
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _run_batch(self, fns: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        with self._lock:
            for fn in fns:
                try:
                    outcomes.append((True, fn()))
                except Exception as exc:  # noqa: BLE001 - re-raised in that call's awaiter
                    outcomes.append((False, exc))
        return outcomes

    async def insert_pending(
        self,
        record: SessionRecord,
        jti: JtiSpend | None = None,
        now: float | None = None,
        max_active_for_subject: int | None = None,
    ) -> bool:
        """Spend ``jti`` and insert the intent row in one thread hop and one transaction.

        Committed (durable as any statement here) before this returns, so before OpenBao is
        asked; a replay commits nothing but a due purge and returns False. With
        ``max_active_for_subject``, a subject already holding that many pending or active
        sessions raises TooManySessions in the same transaction, its jti left unspent.
        """
        now = time.time() if now is None else now
        params = insert_params(record)
        purge = jti is not None and self._jti_purge_due()
        limit = max_active_for_subject

        def write() -> bool | None:  # None: refused for the subject's limit
            db = self._db
            fresh: bool | None
            try:
                db.execute("BEGIN IMMEDIATE")
                if purge:
                    db.execute(JTI_PURGE, (now,))
                if limit is not None and _full(db, record, limit):
                    replayed = jti is not None and bool(
                        db.execute(JTI_LIVE, (jti[0], jti[1], now)).fetchone()
                    )
                    fresh = False if replayed else None
                else:
                    fresh = jti is None or db.execute(JTI_UPSERT, (*jti, now)).rowcount == 1
                    if fresh:
                        db.execute(INSERT, params)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return fresh

        fresh = await self._run(write)
        if fresh is None:
            raise errors.TooManySessions()
        return fresh

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self._run(lambda: self._db.execute(sql, tuple(params)).fetchall())

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._run(lambda: self._db.execute(sql, tuple(params)).rowcount)

    async def close(self) -> None:
        await self._run(self._db.close)


def _full(db: sqlite3.Connection, record: SessionRecord, limit: int) -> bool:
    """Whether ``record``'s subject already holds ``limit`` pending or active sessions."""
    return int(db.execute(COUNT_ACTIVE, (record.subject, record.issuer)).fetchone()[0]) >= limit
