"""SQLite backend (WAL): the embedded default for a single broker.

Invariants: blocking sqlite3 calls run in a worker thread behind one lock, never on the event
loop; each statement is its own transaction (autocommit), so every compare-and-set and claim
is atomic; migrations run at open, each in one transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from broker.store_schema import MIGRATIONS, MIGRATIONS_TABLE, STORE_INFO_TABLE
from broker.store_sql import SqlStore

T = TypeVar("T")


class SqliteStore(SqlStore):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
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
        def locked() -> T:
            with self._lock:
                return fn()

        return await asyncio.to_thread(locked)

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self._run(lambda: self._db.execute(sql, tuple(params)).fetchall())

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._run(lambda: self._db.execute(sql, tuple(params)).rowcount)

    async def close(self) -> None:
        await self._run(self._db.close)
