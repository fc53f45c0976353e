"""Session store: the ``SessionStore`` protocol, its record, and ``open_store``.

Two backends share one SQL implementation (``broker/store_sql.py``): SQLite in WAL mode, the
embedded default (``broker/store_sqlite.py``), and PostgreSQL for several broker replicas
(``broker/store_postgres.py``). Invariants every backend keeps:
- State changes are compare-and-set (``UPDATE ... WHERE state = ...``): two enders cannot both
  win, and an ``ending`` row is claimed by one replica at a time (its ``next_attempt_at`` is
  pushed forward in the same statement that selects it, ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL), so each session is revoked by one replica.
- The token itself is never stored, only its SHA-256; nothing per session is held in memory.
- ``insert_pending(..., max_active_for_subject=N)`` counts the subject's pending+active
  sessions and writes the intent row as one atomic step, so a rule's limit is exact however
  many replicas share the store; at the limit it raises TooManySessions and writes nothing
  (the jti stays unspent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from broker.sessions import State


@dataclass(frozen=True)
class SessionRecord:
    id: str
    state: State
    issuer: str
    subject: str
    rule: str
    policies: tuple[str, ...]
    accessor: str | None
    token_sha256: str | None
    created_at: float
    expires_at: float
    ended_at: float | None = None
    acl_policy: str | None = None
    end_cause: State | None = None  # the final state an ``ending`` session reaches
    deadline_at: float | None = None  # min(expires_at, last heartbeat + window)
    heartbeat_at: float | None = None
    attempts: int = 0  # failed revocation attempts
    next_attempt_at: float | None = None

    def __post_init__(self) -> None:
        if self.deadline_at is None:
            object.__setattr__(self, "deadline_at", self.expires_at)


class SessionStore(Protocol):
    dialect: str

    async def insert(self, record: SessionRecord) -> None: ...

    async def insert_pending(
        self,
        record: SessionRecord,
        jti: tuple[str, str, float] | None = None,
        now: float | None = None,
        max_active_for_subject: int | None = None,
    ) -> bool: ...

    async def get(self, session_id: str) -> SessionRecord | None: ...

    async def activate(
        self,
        session_id: str,
        accessor: str,
        token_sha256: str,
        expires_at: float,
        deadline_at: float,
    ) -> bool: ...

    async def transition(
        self, session_id: str, from_states: Iterable[State], to: State, at: float | None = None
    ) -> bool: ...

    async def request_end(
        self, session_id: str, cause: State, claim_until: float, token_sha256: str | None = None
    ) -> SessionRecord | None: ...

    async def claim_ending(
        self, now: float, claim_until: float, limit: int
    ) -> list[SessionRecord]: ...

    async def expire_due(
        self, now: float, claim_until: float, limit: int
    ) -> list[SessionRecord]: ...

    async def finish_end(self, session_id: str, at: float) -> bool: ...

    async def retry_later(self, session_id: str, next_attempt_at: float) -> bool: ...

    async def heartbeat(self, session_id: str, at: float, deadline_at: float) -> bool: ...

    async def stale_pending(self, created_before: float, limit: int) -> list[SessionRecord]: ...

    async def states_of(self, session_ids: Iterable[str]) -> dict[str, SessionRecord]: ...

    async def list_sessions(
        self, states: Iterable[State] | None, limit: int, after_id: str | None = None
    ) -> list[SessionRecord]: ...

    async def count(self) -> int: ...

    async def count_active(self, subject: str, issuer: str) -> int: ...

    async def count_by_state(self) -> dict[State, int]: ...

    async def in_state(self, state: State, limit: int) -> list[SessionRecord]: ...

    async def record_jti(
        self, issuer: str, jti: str, expires_at: float, now: float | None = None
    ) -> bool: ...

    async def store_id(self) -> str: ...

    async def schema_version(self) -> int: ...

    async def close(self) -> None: ...


def is_postgres_dsn(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


async def open_store(location: str | Path) -> SessionStore:
    """A SQLite path or a ``postgresql://`` DSN -> a migrated, ready store.

    The DSN carries no password: libpq reads it from ``PGPASSWORD``/``PGPASSFILE``/``~/.pgpass``.
    """
    if isinstance(location, str) and is_postgres_dsn(location):
        from broker.store_postgres import PostgresStore

        return await PostgresStore.connect(location)
    from broker.store_sqlite import SqliteStore

    return SqliteStore(Path(location))


def __getattr__(name: str) -> Any:
    # ``from broker.store import SqliteStore`` predates the backend split; keep it working.
    if name == "SqliteStore":
        from broker.store_sqlite import SqliteStore

        return SqliteStore
    raise AttributeError(name)
