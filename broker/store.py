"""Session store: a ``SessionStore`` protocol and its SQLite implementation.

Invariants: all SQL lives in this module; blocking sqlite3 calls run in a worker thread
(``asyncio.to_thread``) behind one lock, never on the event loop; state changes are
compare-and-set (``UPDATE ... WHERE state IN (...)``) so two enders cannot both win.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from broker.sessions import State

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id            TEXT PRIMARY KEY,
    state         TEXT NOT NULL CHECK (state IN ('active','ending','ended','expired','revoked')),
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    rule          TEXT NOT NULL,
    policies      TEXT NOT NULL,
    accessor      TEXT NOT NULL,
    token_sha256  TEXT NOT NULL,
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL,
    ended_at      REAL
);
CREATE INDEX IF NOT EXISTS sessions_state_expires ON sessions (state, expires_at);
"""


_SELECT = (
    "SELECT id, state, issuer, subject, rule, policies, accessor, token_sha256,"
    " created_at, expires_at, ended_at FROM sessions"
)


def _record(row: Any) -> SessionRecord:
    return SessionRecord(
        id=row[0],
        state=State(row[1]),
        issuer=row[2],
        subject=row[3],
        rule=row[4],
        policies=tuple(json.loads(row[5])),
        accessor=row[6],
        token_sha256=row[7],
        created_at=row[8],
        expires_at=row[9],
        ended_at=row[10],
    )


@dataclass(frozen=True)
class SessionRecord:
    id: str
    state: State
    issuer: str
    subject: str
    rule: str
    policies: tuple[str, ...]
    accessor: str
    token_sha256: str
    created_at: float
    expires_at: float
    ended_at: float | None = None


class SessionStore(Protocol):
    async def insert(self, record: SessionRecord) -> None: ...

    async def get(self, session_id: str) -> SessionRecord | None: ...

    async def transition(
        self, session_id: str, from_states: Iterable[State], to: State, at: float | None = None
    ) -> bool: ...

    async def count(self) -> int: ...

    async def expire_due(self, now: float) -> int: ...

    async def in_state(self, state: State, limit: int) -> list[SessionRecord]: ...

    async def close(self) -> None: ...


class SqliteStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    async def _run(self, fn: Any, *args: Any) -> Any:
        def locked() -> Any:
            with self._lock:
                return fn(*args)

        return await asyncio.to_thread(locked)

    async def insert(self, record: SessionRecord) -> None:
        await self._run(
            self._db.execute,
            "INSERT INTO sessions (id, state, issuer, subject, rule, policies, accessor,"
            " token_sha256, created_at, expires_at, ended_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                record.id,
                record.state.value,
                record.issuer,
                record.subject,
                record.rule,
                json.dumps(list(record.policies)),
                record.accessor,
                record.token_sha256,
                record.created_at,
                record.expires_at,
                record.ended_at,
            ),
        )

    async def get(self, session_id: str) -> SessionRecord | None:
        def query() -> Any:
            return self._db.execute(_SELECT + " WHERE id = ?", (session_id,)).fetchone()

        row = await self._run(query)
        return None if row is None else _record(row)

    async def expire_due(self, now: float) -> int:
        """Active sessions past their expiry become ``expired`` (OpenBao already dropped them)."""

        def update() -> int:
            return self._db.execute(
                "UPDATE sessions SET state = 'expired', ended_at = expires_at"
                " WHERE state = 'active' AND expires_at <= ?",
                (now,),
            ).rowcount

        return int(await self._run(update))

    async def in_state(self, state: State, limit: int) -> list[SessionRecord]:
        def query() -> list[Any]:
            return self._db.execute(
                _SELECT + " WHERE state = ? ORDER BY created_at LIMIT ?", (state.value, limit)
            ).fetchall()

        return [_record(row) for row in await self._run(query)]

    async def transition(
        self, session_id: str, from_states: Iterable[State], to: State, at: float | None = None
    ) -> bool:
        states = [s.value for s in from_states]
        marks = ",".join("?" * len(states))

        def update() -> int:
            cur = self._db.execute(
                f"UPDATE sessions SET state = ?, ended_at = COALESCE(?, ended_at)"
                f" WHERE id = ? AND state IN ({marks})",
                (to.value, at, session_id, *states),
            )
            return cur.rowcount

        return bool(await self._run(update))

    async def count(self) -> int:
        def query() -> int:
            return int(self._db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

        return int(await self._run(query))

    async def close(self) -> None:
        await self._run(self._db.close)
