"""PostgreSQL backend: one database shared by several broker replicas.

Invariants:
- Every statement runs in autocommit on one of a few pooled async connections; the
  statements that claim rows lock them with ``FOR UPDATE SKIP LOCKED`` inside the same
  ``UPDATE``, so two replicas never claim one session.
- Migrations run at connect under a transaction-scoped advisory lock: replicas starting at
  once apply each version exactly once.
- The DSN never carries a password; libpq reads it from ``PGPASSWORD``, ``PGPASSFILE`` or
  ``~/.pgpass``. Connection errors are reported by class name only (libpq messages can echo
  connection parameters).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Self

import psycopg

from broker import errors
from broker.store_schema import MIGRATIONS, MIGRATIONS_TABLE, STORE_INFO_TABLE, statements
from broker.store_sql import SqlStore

MIGRATION_LOCK = 0x5E551CE  # advisory lock key shared by every replica's migrator
POOL_SIZE = 4


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")  # the shared SQL never holds a literal '?' or '%'


class PostgresStore(SqlStore):
    dialect = "postgresql"
    _lock_rows = " FOR UPDATE SKIP LOCKED"

    def __init__(self, dsn: str, conns: list[psycopg.AsyncConnection[Any]]) -> None:
        self._dsn = dsn
        self._all = conns
        self._free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        for conn in conns:
            self._free.put_nowait(conn)

    @classmethod
    async def connect(cls, dsn: str, pool_size: int = POOL_SIZE) -> Self:
        conns: list[psycopg.AsyncConnection[Any]] = []
        try:
            for _ in range(pool_size):
                conns.append(await psycopg.AsyncConnection.connect(dsn, autocommit=True))
            await _migrate(conns[0])
        except psycopg.Error as exc:
            for conn in conns:
                await conn.close()
            why = f"cannot open the PostgreSQL store ({type(exc).__name__})"
            raise errors.StoreUnavailable(why) from exc
        return cls(dsn, conns)

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await self._free.get()
        try:
            if conn.closed:  # the server restarted or dropped us: reconnect once, lazily
                fresh = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
                self._all[self._all.index(conn)] = conn = fresh
            yield conn
        finally:
            self._free.put_nowait(conn)

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            async with self._conn() as conn, conn.cursor() as cur:
                await cur.execute(_pg(sql), tuple(params))
                return list(await cur.fetchall()) if cur.description else []
        except psycopg.OperationalError as exc:
            raise errors.StoreUnavailable() from exc

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            async with self._conn() as conn, conn.cursor() as cur:
                await cur.execute(_pg(sql), tuple(params))
                return cur.rowcount
        except psycopg.OperationalError as exc:
            raise errors.StoreUnavailable() from exc

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()


async def _migrate(conn: psycopg.AsyncConnection[Any]) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(MIGRATIONS_TABLE)
        await conn.execute(STORE_INFO_TABLE)
        cur = await conn.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in await cur.fetchall()}
        for version, script in MIGRATIONS["postgresql"]:
            if version in done:
                continue
            for statement in statements(script):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, %s)",
                (version, time.time()),
            )
