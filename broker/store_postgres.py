"""PostgreSQL backend: one database shared by several broker replicas.

Invariants:
- Every statement runs in autocommit on one of a few pooled async connections; the
  statements that claim rows lock them with ``FOR UPDATE SKIP LOCKED`` inside the same
  ``UPDATE``, so two replicas never claim one session.
- Migrations run at connect under a transaction-scoped advisory lock: replicas starting at
  once apply each version exactly once.
- A rule's ``max_sessions_per_subject`` holds across replicas: ``insert_pending`` with a limit
  is one transaction that first takes ``pg_advisory_xact_lock(subject_lock_key(issuer,
  subject))``, then counts, then spends the jti and inserts. Under READ COMMITTED each
  statement sees what every earlier holder of that lock committed, so two replicas cannot
  both see room for one. Within a replica, openings of one subject also queue on an asyncio
  lock first, so a burst for one subject waits in memory and holds one pooled connection,
  not all of them. Without a limit nothing is locked (the exchange's hot path).
- The DSN never carries a password; libpq reads it from ``PGPASSWORD``, ``PGPASSFILE`` or
  ``~/.pgpass``. Connection errors are reported by class name only (libpq messages can echo
  connection parameters).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Self

import psycopg

from broker import errors
from broker.store import SessionRecord
from broker.store_schema import MIGRATIONS, MIGRATIONS_TABLE, STORE_INFO_TABLE, statements
from broker.store_sql import (
    COUNT_ACTIVE,
    INSERT,
    JTI_LIVE,
    JTI_UPSERT,
    JtiSpend,
    SqlStore,
    insert_params,
)

MIGRATION_LOCK = 0x5E551CE  # advisory lock key shared by every replica's migrator
POOL_SIZE = 4
_SUBJECT_LOCK_DOMAIN = b"sluice-subject"  # BLAKE2b personalisation: no other key can match


def subject_lock_key(issuer: str, subject: str) -> int:
    """The advisory-lock key of one (issuer, subject): a signed 64-bit integer.

    The first 8 bytes of BLAKE2b(personalised ``sluice-subject``) over
    ``len(issuer) ":" issuer subject`` (UTF-8; the length prefix keeps ``("a b", "c")`` and
    ``("a", "b c")`` apart), read big-endian and signed, as ``pg_advisory_xact_lock(bigint)``
    takes it. Computed here rather than with PostgreSQL's ``hashtextextended`` so that every
    replica, whatever the server's version, derives the same key, and so it can be tested
    without a database. Two subjects sharing a key (odds 2**-64) only queue behind each other.
    """
    issuer_bytes = issuer.encode()
    material = b"%d:%s%s" % (len(issuer_bytes), issuer_bytes, subject.encode())
    digest = hashlib.blake2b(material, digest_size=8, person=_SUBJECT_LOCK_DOMAIN).digest()
    return int.from_bytes(digest, "big", signed=True)


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
        self._subject_gates: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

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

    async def insert_pending(
        self,
        record: SessionRecord,
        jti: JtiSpend | None = None,
        now: float | None = None,
        max_active_for_subject: int | None = None,
    ) -> bool:
        """As ``SqlStore.insert_pending``; with a limit, count and insert as one step.

        Raises TooManySessions, with nothing written and the jti unspent, when the subject
        already holds ``max_active_for_subject`` pending or active sessions on any replica.
        """
        if max_active_for_subject is None:
            return await super().insert_pending(record, jti, now)
        now = time.time() if now is None else now
        if jti is not None and self._jti_purge_due():
            await self.purge_jti(now)  # outside the subject's lock: keep its hold short
        key = subject_lock_key(record.issuer, record.subject)
        gate = self._subject_gates.setdefault(key, asyncio.Lock())
        try:
            async with gate, self._conn() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
                cur = await conn.execute(_pg(COUNT_ACTIVE), (record.subject, record.issuer))
                counted = await cur.fetchone()
                if counted is not None and int(counted[0]) >= max_active_for_subject:
                    if jti is not None:
                        cur = await conn.execute(_pg(JTI_LIVE), (jti[0], jti[1], now))
                        if await cur.fetchone() is not None:
                            return False  # a replay is a replay, room or not
                    raise errors.TooManySessions()
                if jti is not None:
                    cur = await conn.execute(_pg(JTI_UPSERT), (*jti, now))
                    if cur.rowcount != 1:
                        return False
                await conn.execute(_pg(INSERT), insert_params(record))
        except psycopg.OperationalError as exc:
            raise errors.StoreUnavailable() from exc
        return True

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
