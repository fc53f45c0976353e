"""A subject's session limit in the store itself: the count and the intent row are one step.

Each test opens two stores on one database (two replicas' worth of connections: two
PostgreSQL pools, or two SQLite connections to one file) and races them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from broker import errors
from broker.sessions import State
from broker.store import SessionRecord, SessionStore, open_store

pytestmark = pytest.mark.integration
NOW = 1_800_000_000.0
ISS = "https://iss"
SUB = "repo:acme/app"
LIMIT = 3


@pytest.fixture(params=["sqlite", "postgresql"])
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SessionStore, SessionStore]]:
    where: str | Path = tmp_path / "s.db"
    if request.param == "postgresql":
        where = request.getfixturevalue("postgres_db")
    a = await open_store(where)
    b = await open_store(where)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


def pending(sid: str, subject: str = SUB) -> SessionRecord:
    return SessionRecord(
        id=sid, state=State.PENDING, issuer=ISS, subject=subject, rule="r", policies=("p",),
        accessor=None, token_sha256=None, created_at=NOW, expires_at=NOW + 600,
    )  # fmt: skip


def jti(n: int) -> tuple[str, str, float]:
    return (ISS, f"j{n}", NOW + 300)


async def open_one(store: SessionStore, n: int, subject: str = SUB) -> str:
    """'opened', 'replayed' or 'too_many_sessions' for one insert_pending at the limit."""
    try:
        fresh = await store.insert_pending(pending(f"ses_{subject[-3:]}{n:03}", subject), jti(n),
                                           NOW, max_active_for_subject=LIMIT)  # fmt: skip
    except errors.TooManySessions:
        return "too_many_sessions"
    return "opened" if fresh else "replayed"


async def test_concurrent_openings_over_two_stores_stop_exactly_at_the_limit(
    replicas: tuple[SessionStore, SessionStore],
) -> None:
    """24 racing openings split over two stores: exactly 3 rows; another subject unaffected."""
    a, b = replicas
    outcomes = await asyncio.gather(*(open_one((a, b)[n % 2], n) for n in range(24)))
    assert sorted(outcomes).count("opened") == LIMIT
    assert outcomes.count("too_many_sessions") == 24 - LIMIT
    assert await a.count_active(SUB, ISS) == LIMIT
    assert await b.count() == LIMIT  # a refusal writes no row
    other = await asyncio.gather(*(open_one(b, 100 + n, "repo:acme/web") for n in range(2)))
    assert other == ["opened", "opened"]


async def test_a_refusal_for_the_limit_leaves_the_jti_unspent(
    replicas: tuple[SessionStore, SessionStore],
) -> None:
    """A token refused because the subject was full opens a session once a place is free."""
    a, b = replicas
    assert [await open_one(a, n) for n in range(LIMIT)] == ["opened"] * LIMIT
    assert await open_one(b, 7) == "too_many_sessions"
    assert await a.transition("ses_app000", [State.PENDING], State.ENDED, NOW + 1)
    assert await open_one(b, 7) == "opened"  # the same jti: it was not burned by the 429
    assert await open_one(a, 8) == "too_many_sessions"


async def test_a_spent_jti_is_a_replay_whether_or_not_the_subject_is_full(
    replicas: tuple[SessionStore, SessionStore],
) -> None:
    """A replayed token is reported as a replay (the audit shows it), not as a full subject."""
    a, b = replicas
    assert await open_one(a, 0) == "opened"
    assert await open_one(b, 0) == "replayed"  # room left
    assert [await open_one(a, n) for n in (1, 2)] == ["opened", "opened"]
    assert await open_one(b, 0) == "replayed"  # full
    assert await a.count() == LIMIT


async def test_ending_and_ended_sessions_do_not_hold_a_place(
    replicas: tuple[SessionStore, SessionStore],
) -> None:
    """Only pending and active sessions count: a session being revoked frees its place."""
    a, _ = replicas
    assert [await open_one(a, n) for n in range(LIMIT)] == ["opened"] * LIMIT
    assert await a.activate("ses_app001", "acc-1", "d" * 64, NOW + 600, NOW + 600)
    assert await a.request_end("ses_app001", State.ENDED, NOW + 60) is not None
    assert await open_one(a, 9) == "opened"


async def test_without_a_limit_nothing_is_counted(
    replicas: tuple[SessionStore, SessionStore],
) -> None:
    """No limit configured: any number of rows for one subject, replays still refused."""
    a, b = replicas
    writes = [s.insert_pending(pending(f"ses_{n}"), jti(n), NOW) for n, s in enumerate([a, b] * 3)]
    assert all(await asyncio.gather(*writes))
    assert not await b.insert_pending(pending("ses_x"), jti(0), NOW)
    assert await a.count_active(SUB, ISS) == 6
