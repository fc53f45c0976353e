"""The SQL behind every ``SessionStore`` backend, written once with ``?`` placeholders.

A backend supplies ``_fetch`` (rows of a statement, RETURNING included), ``_execute``
(rowcount) and ``_lock_rows`` (``FOR UPDATE SKIP LOCKED`` where the database has it). Claims
are single ``UPDATE ... WHERE id IN (SELECT ... LIMIT n [lock]) RETURNING`` statements, so a
row is handed to exactly one caller until its claim lapses.

``insert_pending`` with ``max_active_for_subject`` is the one write that must read before it
writes: the subject's pending+active count, then the replay-cache entry and the intent row,
all in one step the backend makes atomic (``SqliteStore``: one ``BEGIN IMMEDIATE``
transaction; ``PostgresStore``: one transaction under a per-subject advisory lock). The order
inside is the exchange's: a subject at its limit is refused before its jti is spent, so a
``too_many_sessions`` refusal does not burn the token; a jti that is already spent and live is
still reported as a replay, limit or not.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Sequence
from typing import Any

from broker.sessions import State
from broker.store import SessionRecord
from broker.store_schema import SESSION_COLUMNS

JTI_PURGE_EVERY = 256  # replay-cache records between purges of expired entries
JtiSpend = tuple[str, str, float]  # (issuer, jti, remembered until)
# A live (issuer, jti) is left alone (rowcount 0: a replay); an expired one is taken over in
# place (rowcount 1), so a token id whose row awaits the purge is not refused by mistake.
JTI_UPSERT = (
    "INSERT INTO replay_jti (issuer, jti, expires_at) VALUES (?,?,?)"
    " ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = excluded.expires_at"
    " WHERE replay_jti.expires_at <= ?"
)
JTI_PURGE = "DELETE FROM replay_jti WHERE expires_at <= ?"
JTI_LIVE = "SELECT 1 FROM replay_jti WHERE issuer = ? AND jti = ? AND expires_at > ?"
# Sessions that hold one of a subject's places: ``pending`` included, so an opening counts
# from its intent row on (index ``sessions_subject``).
COUNT_ACTIVE = (
    "SELECT COUNT(*) FROM sessions WHERE subject = ? AND issuer = ?"
    " AND state IN ('pending','active')"
)
_SELECT = f"SELECT {SESSION_COLUMNS} FROM sessions"
INSERT = f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"


def record_of(row: Sequence[Any]) -> SessionRecord:
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
        acl_policy=row[11],
        end_cause=State(row[12]) if row[12] else None,
        deadline_at=row[13],
        heartbeat_at=row[14],
        attempts=row[15],
        next_attempt_at=row[16],
    )


def insert_params(record: SessionRecord) -> tuple[Any, ...]:
    return (
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
        record.acl_policy,
        record.end_cause.value if record.end_cause else None,
        record.deadline_at,
        record.heartbeat_at,
        record.attempts,
        record.next_attempt_at,
    )


class SqlStore:
    dialect = "sql"
    _lock_rows = ""

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    # --- writes ---------------------------------------------------------------------------
    async def insert(self, record: SessionRecord) -> None:
        await self._execute(INSERT, insert_params(record))

    async def insert_pending(
        self,
        record: SessionRecord,
        jti: JtiSpend | None = None,
        now: float | None = None,
        max_active_for_subject: int | None = None,
    ) -> bool:
        """Spend ``jti`` (if any) and insert the intent row; False, and no row, on a replay.

        This generic version has no way to make a count and an insert one step: a backend
        that supports ``max_active_for_subject`` overrides it (both real ones do).
        """
        if max_active_for_subject is not None:
            raise NotImplementedError("this store cannot enforce a per-subject limit")
        if jti is not None and not await self.record_jti(*jti, now=now):
            return False
        await self.insert(record)
        return True

    async def activate(
        self,
        session_id: str,
        accessor: str,
        token_sha256: str,
        expires_at: float,
        deadline_at: float,
    ) -> bool:
        """pending -> active, once OpenBao issued the token."""
        return bool(
            await self._execute(
                "UPDATE sessions SET state = 'active', accessor = ?, token_sha256 = ?,"
                " expires_at = ?, deadline_at = ? WHERE id = ? AND state = 'pending'",
                (accessor, token_sha256, expires_at, deadline_at, session_id),
            )
        )

    async def transition(
        self, session_id: str, from_states: Iterable[State], to: State, at: float | None = None
    ) -> bool:
        states = [s.value for s in from_states]
        marks = ",".join("?" * len(states))
        return bool(
            await self._execute(
                f"UPDATE sessions SET state = ?, ended_at = COALESCE(?, ended_at)"
                f" WHERE id = ? AND state IN ({marks})",
                (to.value, at, session_id, *states),
            )
        )

    async def request_end(
        self, session_id: str, cause: State, claim_until: float, token_sha256: str | None = None
    ) -> SessionRecord | None:
        """active -> ending(cause), claimed by the caller until ``claim_until``.

        With ``token_sha256`` only the session's own bearer may end it: the check and the
        claim are one statement (one round trip on the hot path of mass ends).
        """
        where, params = "id = ? AND state = 'active'", [cause.value, claim_until, session_id]
        if token_sha256 is not None:
            where += " AND token_sha256 = ?"
            params.append(token_sha256)
        rows = await self._fetch(
            "UPDATE sessions SET state = 'ending', end_cause = ?, next_attempt_at = ?"
            f" WHERE {where} RETURNING {SESSION_COLUMNS}",
            params,
        )
        return record_of(rows[0]) if rows else None

    async def claim_ending(self, now: float, claim_until: float, limit: int) -> list[SessionRecord]:
        """Ending sessions whose retry is due, claimed for the caller until ``claim_until``."""
        rows = await self._fetch(
            f"UPDATE sessions SET next_attempt_at = ? WHERE state = 'ending' AND id IN ("
            f" SELECT id FROM sessions WHERE state = 'ending' AND next_attempt_at <= ?"
            f" ORDER BY next_attempt_at LIMIT ?{self._lock_rows}) RETURNING {SESSION_COLUMNS}",
            (claim_until, now, limit),
        )
        return [record_of(r) for r in rows]

    async def expire_due(self, now: float, claim_until: float, limit: int) -> list[SessionRecord]:
        """Active sessions past their deadline -> ending(expired), claimed for the caller."""
        rows = await self._fetch(
            f"UPDATE sessions SET state = 'ending', end_cause = 'expired', next_attempt_at = ?"
            f" WHERE state = 'active' AND id IN ("
            f" SELECT id FROM sessions WHERE state = 'active' AND deadline_at <= ?"
            f" ORDER BY deadline_at LIMIT ?{self._lock_rows}) RETURNING {SESSION_COLUMNS}",
            (claim_until, now, limit),
        )
        return [record_of(r) for r in rows]

    async def finish_end(self, session_id: str, at: float) -> bool:
        """ending -> its end cause, once OpenBao confirmed; ``at`` becomes ``ended_at``."""
        return bool(
            await self._execute(
                "UPDATE sessions SET state = COALESCE(end_cause, 'ended'), ended_at = ?,"
                " next_attempt_at = NULL WHERE id = ? AND state = 'ending'",
                (at, session_id),
            )
        )

    async def retry_later(self, session_id: str, next_attempt_at: float) -> bool:
        return bool(
            await self._execute(
                "UPDATE sessions SET attempts = attempts + 1, next_attempt_at = ?"
                " WHERE id = ? AND state = 'ending'",
                (next_attempt_at, session_id),
            )
        )

    async def heartbeat(self, session_id: str, at: float, deadline_at: float) -> bool:
        return bool(
            await self._execute(
                "UPDATE sessions SET heartbeat_at = ?, deadline_at = ?"
                " WHERE id = ? AND state = 'active'",
                (at, deadline_at, session_id),
            )
        )

    # --- reads ----------------------------------------------------------------------------
    async def get(self, session_id: str) -> SessionRecord | None:
        rows = await self._fetch(_SELECT + " WHERE id = ?", (session_id,))
        return record_of(rows[0]) if rows else None

    async def stale_pending(self, created_before: float, limit: int) -> list[SessionRecord]:
        rows = await self._fetch(
            _SELECT + " WHERE state = 'pending' AND created_at < ? ORDER BY created_at LIMIT ?",
            (created_before, limit),
        )
        return [record_of(r) for r in rows]

    async def states_of(self, session_ids: Iterable[str]) -> dict[str, SessionRecord]:
        ids = list(dict.fromkeys(session_ids))
        found: dict[str, SessionRecord] = {}
        for start in range(0, len(ids), 500):  # bounded statement size
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in await self._fetch(_SELECT + f" WHERE id IN ({marks})", chunk):
                found[row[0]] = record_of(row)
        return found

    async def list_sessions(
        self, states: Iterable[State] | None, limit: int, after_id: str | None = None
    ) -> list[SessionRecord]:
        where, params = ["id > ?"], [after_id or ""]
        if states is not None:
            values = [s.value for s in states]
            where.append(f"state IN ({','.join('?' * len(values))})")
            params.extend(values)
        rows = await self._fetch(
            _SELECT + " WHERE " + " AND ".join(where) + " ORDER BY id LIMIT ?", (*params, limit)
        )
        return [record_of(r) for r in rows]

    async def in_state(self, state: State, limit: int) -> list[SessionRecord]:
        rows = await self._fetch(
            _SELECT + " WHERE state = ? ORDER BY created_at LIMIT ?", (state.value, limit)
        )
        return [record_of(r) for r in rows]

    async def count(self) -> int:
        return int((await self._fetch("SELECT COUNT(*) FROM sessions"))[0][0])

    async def count_active(self, subject: str, issuer: str) -> int:
        rows = await self._fetch(COUNT_ACTIVE, (subject, issuer))
        return int(rows[0][0])

    async def count_by_state(self) -> dict[State, int]:
        rows = await self._fetch("SELECT state, COUNT(*) FROM sessions GROUP BY state")
        return {State(state): int(n) for state, n in rows}

    async def record_jti(
        self, issuer: str, jti: str, expires_at: float, now: float | None = None
    ) -> bool:
        """Remember an identity token's ``jti`` until it expires; False if seen and live."""
        now = time.time() if now is None else now
        if self._jti_purge_due():
            await self.purge_jti(now)
        return await self._execute(JTI_UPSERT, (issuer, jti, expires_at, now)) == 1

    async def purge_jti(self, now: float) -> int:
        """Forget identity-token ids whose tokens have expired (they can no longer replay)."""
        return await self._execute(JTI_PURGE, (now,))

    def _jti_purge_due(self) -> bool:
        # Once per JTI_PURGE_EVERY records (the first one included), not a DELETE on every
        # exchange: the upsert already takes over an expired row, so the purge only bounds
        # the table's size.
        self._jti_records = getattr(self, "_jti_records", 0) + 1
        return self._jti_records % JTI_PURGE_EVERY == 1

    async def store_id(self) -> str:
        """This store's random id, created on first call (any replica; first writer wins)."""
        cached: str | None = getattr(self, "_store_id", None)
        if cached is not None:
            return cached
        await self._execute(
            "INSERT INTO store_info (key, value) VALUES ('store_id', ?)"
            " ON CONFLICT (key) DO NOTHING",
            ("st_" + secrets.token_hex(8),),
        )
        rows = await self._fetch("SELECT value FROM store_info WHERE key = 'store_id'")
        self._store_id = str(rows[0][0])
        return self._store_id

    async def schema_version(self) -> int:
        rows = await self._fetch("SELECT MAX(version) FROM schema_migrations")
        return int(rows[0][0] or 0)
