"""The session store, run against both backends: SQLite (WAL) and a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from broker.sessions import State
from broker.store import SessionRecord, SessionStore, open_store
from broker.store_schema import LATEST
from broker.store_sqlite import SqliteStore

pytestmark = pytest.mark.integration
NOW = 1_800_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    if request.param == "sqlite":
        opened = await open_store(tmp_path / "s.db")
    else:
        opened = await open_store(request.getfixturevalue("postgres_db"))
    try:
        yield opened
    finally:
        await opened.close()


def rec(sid: str, state: State = State.ACTIVE, **kw: object) -> SessionRecord:
    fields: dict[str, object] = {
        "id": sid, "state": state, "issuer": "https://iss", "subject": "repo:acme/app", "rule": "r",
        "policies": ("p1", "p2"), "accessor": "acc-" + sid, "token_sha256": "d" * 64,
        "created_at": NOW, "expires_at": NOW + 600,
    }  # fmt: skip
    fields.update(kw)
    return SessionRecord(**fields)  # type: ignore[arg-type]


async def test_migrations_are_recorded_and_idempotent(
    store: SessionStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A fresh store is at the latest schema version; re-opening applies nothing twice."""
    assert await store.schema_version() == LATEST
    if store.dialect == "sqlite":
        again = await open_store(tmp_path / "s.db")
    else:
        again = await open_store(request.getfixturevalue("postgres_db"))
    assert await again.schema_version() == LATEST
    assert await again.store_id() == await store.store_id()
    await again.close()


async def test_record_round_trips(store: SessionStore) -> None:
    """Every field written comes back unchanged."""
    r = rec("ses_a", acl_policy="sluice-session-ses_a", heartbeat_at=NOW + 1)
    await store.insert(r)
    assert await store.get("ses_a") == r
    assert await store.get("nope") is None


async def test_pending_activates_once(store: SessionStore) -> None:
    """pending -> active with the token's accessor; a second activation is refused."""
    await store.insert(rec("ses_p", State.PENDING, accessor=None, token_sha256=None))
    assert await store.activate("ses_p", "acc-x", "e" * 64, NOW + 300, NOW + 90)
    assert not await store.activate("ses_p", "acc-y", "e" * 64, NOW + 300, NOW + 90)
    got = await store.get("ses_p")
    assert got is not None and (got.state, got.accessor, got.deadline_at) == (
        State.ACTIVE,
        "acc-x",
        NOW + 90,
    )


async def test_request_end_wins_once(store: SessionStore) -> None:
    """Of two concurrent enders exactly one gets the claim, with its cause recorded."""
    await store.insert(rec("ses_e"))
    results = await asyncio.gather(
        store.request_end("ses_e", State.ENDED, NOW + 60),
        store.request_end("ses_e", State.REVOKED, NOW + 60),
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].state is State.ENDING
    assert await store.finish_end("ses_e", NOW + 5)
    final = await store.get("ses_e")
    assert final is not None and final.state is winners[0].end_cause
    assert final.ended_at == NOW + 5
    assert not await store.finish_end("ses_e", NOW + 6)


async def test_expiry_and_missed_heartbeats_are_claimed_once(store: SessionStore) -> None:
    """Sessions past their deadline become ending(expired) for one caller; others stay."""
    await store.insert(rec("ses_old", deadline_at=NOW - 1))
    await store.insert(rec("ses_ok", deadline_at=NOW + 100))
    first, second = await asyncio.gather(
        store.expire_due(NOW, NOW + 60, 10), store.expire_due(NOW, NOW + 60, 10)
    )
    assert sorted(r.id for r in first + second) == ["ses_old"]
    assert (await store.get("ses_ok")).state is State.ACTIVE  # type: ignore[union-attr]
    assert (await store.get("ses_old")).end_cause is State.EXPIRED  # type: ignore[union-attr]


async def test_heartbeat_moves_the_deadline_of_active_sessions_only(store: SessionStore) -> None:
    """A heartbeat pushes deadline_at; an ending session refuses it."""
    await store.insert(rec("ses_h", deadline_at=NOW + 10))
    assert await store.heartbeat("ses_h", NOW + 5, NOW + 95)
    assert (await store.expire_due(NOW + 50, NOW + 60, 10)) == []
    await store.request_end("ses_h", State.ENDED, NOW + 60)
    assert not await store.heartbeat("ses_h", NOW + 6, NOW + 96)


async def test_ending_claims_respect_backoff_and_lapse(store: SessionStore) -> None:
    """A claimed ending row is invisible to others until its claim or backoff lapses."""
    await store.insert(rec("ses_r"))
    await store.request_end("ses_r", State.ENDED, claim_until=NOW + 60)
    assert await store.claim_ending(NOW + 30, NOW + 90, 10) == []
    assert [r.id for r in await store.claim_ending(NOW + 61, NOW + 120, 10)] == ["ses_r"]
    assert await store.retry_later("ses_r", NOW + 70)
    claimed = await store.claim_ending(NOW + 71, NOW + 130, 10)
    assert [(r.id, r.attempts) for r in claimed] == [("ses_r", 1)]


async def test_concurrent_claims_split_rows_without_overlap(store: SessionStore) -> None:
    """Many claimers over 60 due rows: each row is handed out exactly once."""
    for i in range(60):
        await store.insert(rec(f"ses_{i:03}", deadline_at=NOW - 1))
    batches = await asyncio.gather(*(store.expire_due(NOW, NOW + 60, 7) for _ in range(12)))
    ids = [r.id for batch in batches for r in batch]
    assert len(ids) == len(set(ids)) == 60


async def test_counts_and_listing(store: SessionStore) -> None:
    """count_active counts pending+active of one subject; listing pages by id."""
    await store.insert(rec("ses_1"))
    await store.insert(rec("ses_2", State.PENDING, accessor=None, token_sha256=None))
    await store.insert(rec("ses_3", subject="repo:other/x"))
    await store.insert(rec("ses_4", State.ENDED))
    assert await store.count_active("repo:acme/app", "https://iss") == 2
    assert await store.count_by_state() == {State.ACTIVE: 2, State.PENDING: 1, State.ENDED: 1}
    page1 = await store.list_sessions([State.ACTIVE, State.PENDING], limit=2)
    page2 = await store.list_sessions([State.ACTIVE, State.PENDING], 2, after_id=page1[-1].id)
    assert [r.id for r in page1 + page2] == ["ses_1", "ses_2", "ses_3"]
    assert set(await store.states_of(["ses_1", "ses_4", "nope"])) == {"ses_1", "ses_4"}


async def test_replay_cache(store: SessionStore) -> None:
    """A jti is accepted once while live, again after it expired; issuers are separate."""
    assert await store.record_jti("https://iss", "j1", NOW + 60, now=NOW)
    assert not await store.record_jti("https://iss", "j1", NOW + 60, now=NOW + 1)
    assert await store.record_jti("https://other", "j1", NOW + 60, now=NOW + 1)
    assert await store.record_jti("https://iss", "j1", NOW + 200, now=NOW + 61)


async def test_intent_row_and_jti_are_written_together(store: SessionStore) -> None:
    """A replayed jti adds no intent row; an expired one's id can open a session again."""
    jti = ("https://iss", "j1", NOW + 60)
    assert await store.insert_pending(rec("ses_j1", State.PENDING), jti, NOW)
    assert not await store.insert_pending(rec("ses_j2", State.PENDING), jti, NOW + 1)
    assert await store.insert_pending(
        rec("ses_j3", State.PENDING), ("https://iss", "j1", NOW + 200), NOW + 61
    )
    assert await store.insert_pending(rec("ses_j4", State.PENDING))  # no jti: just the row
    got = await store.states_of(["ses_j1", "ses_j2", "ses_j3", "ses_j4"])
    assert sorted(got) == ["ses_j1", "ses_j3", "ses_j4"]
    assert got["ses_j1"].state is State.PENDING


async def test_skeleton_sqlite_database_is_upgraded(tmp_path: Path) -> None:
    """A database written before migrations existed keeps its rows and gains the new schema."""
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE sessions (id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN"
            " ('active','ending','ended','expired','revoked')), issuer TEXT NOT NULL,"
            " subject TEXT NOT NULL, rule TEXT NOT NULL, policies TEXT NOT NULL,"
            " accessor TEXT NOT NULL, token_sha256 TEXT NOT NULL, created_at REAL NOT NULL,"
            " expires_at REAL NOT NULL, ended_at REAL);"
            "INSERT INTO sessions VALUES ('ses_old','active','i','s','r','[\"p\"]','a','d',1,2,NULL);"
        )
    store = SqliteStore(path)
    got = await store.get("ses_old")
    assert got is not None and got.deadline_at == 2 and got.state is State.ACTIVE
    assert await store.schema_version() == LATEST
    await store.close()


async def test_postgres_store_refuses_a_wrong_password_without_echoing_it(
    postgres_server: object,
) -> None:
    """A failed connect is store_unavailable and the message carries no connection secret."""
    from broker import errors
    from tests.support.postgres import PostgresServer

    assert isinstance(postgres_server, PostgresServer)
    dsn = postgres_server.dsn_for("postgres", password="wrong-pass-canary")
    with pytest.raises(errors.StoreUnavailable) as info:
        await open_store(dsn)
    assert "canary" not in str(info.value) and "canary" not in repr(info.value)
    assert isinstance(info.value.__cause__, psycopg.Error)


async def test_replicas_starting_together_migrate_once(postgres_db: str) -> None:
    """Three replicas opening a fresh database at once: each version applied exactly once."""
    stores = await asyncio.gather(*(open_store(postgres_db) for _ in range(3)))
    try:
        assert {await s.schema_version() for s in stores} == {LATEST}
        assert len({await s.store_id() for s in stores}) == 1
        with psycopg.connect(postgres_db) as conn:
            versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations")]
        assert sorted(versions) == list(range(1, LATEST + 1))
    finally:
        for s in stores:
            await s.close()
