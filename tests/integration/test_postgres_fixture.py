"""The PostgreSQL test server: reachable, isolated per test, and able to share work between replicas.

Broker replicas share one PostgreSQL and must each revoke an expired session exactly once;
``SELECT ... FOR UPDATE SKIP LOCKED`` is the claim pattern they use, shown here with two
concurrent workers.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration

ROWS = 100
BATCH = 7


def test_server_listens_on_loopback_and_a_unix_socket(postgres_server: PostgresServer) -> None:
    """The server answers over 127.0.0.1 with the superuser password and over its own socket."""
    with psycopg.connect(postgres_server.dsn) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
    with psycopg.connect(
        host=str(postgres_server.socket_dir),
        port=postgres_server.port,
        user=postgres_server.superuser,
        dbname="postgres",
    ) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (postgres_server.superuser,)


def test_password_authentication_is_enforced_over_tcp(postgres_server: PostgresServer) -> None:
    """A wrong password is refused, so credential tests against this server mean something."""
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_server.dsn_for("postgres", password="wrong"), connect_timeout=5)


def test_each_database_is_fresh_and_isolated(
    postgres_server: PostgresServer, postgres_db: str
) -> None:
    """postgres_db starts empty; a second database does not see its tables; dropped ones are gone."""
    other = postgres_server.create_database()
    try:
        with psycopg.connect(postgres_db, autocommit=True) as conn:
            assert conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone() == (0,)
            conn.execute("CREATE TABLE only_here (id int)")
        with psycopg.connect(other) as conn:
            assert conn.execute("SELECT to_regclass('public.only_here')").fetchone() == (None,)
    finally:
        postgres_server.drop_database(other)
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(other, connect_timeout=5)


def _make_queue(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE expired (id int PRIMARY KEY, claims int NOT NULL DEFAULT 0)")
        conn.execute("INSERT INTO expired (id) SELECT generate_series(1, %s)", (ROWS,))


def _claim(conn: psycopg.Connection[tuple[int]], limit: int) -> list[int]:
    rows = conn.execute(
        "SELECT id FROM expired WHERE claims = 0 ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
        (limit,),
    ).fetchall()
    return [row[0] for row in rows]


def test_skip_locked_hands_a_second_worker_other_rows_without_waiting(postgres_db: str) -> None:
    """While one transaction holds rows, another claims the next ones instead of blocking."""
    _make_queue(postgres_db)
    with psycopg.connect(postgres_db) as first, psycopg.connect(postgres_db) as second:
        # Blocking would be a bug here: make it an error, not a hang.
        second.execute("SET lock_timeout = '2s'")
        assert _claim(first, 10) == list(range(1, 11))
        assert _claim(second, 10) == list(range(11, 21))


def test_two_workers_claim_every_row_exactly_once(postgres_db: str) -> None:
    """Two concurrent workers drain one table of 100 rows; each row is claimed by exactly one."""
    _make_queue(postgres_db)
    start = threading.Barrier(2, timeout=10)

    def work() -> list[int]:
        mine: list[int] = []
        with psycopg.connect(postgres_db) as conn:
            conn.execute("SET lock_timeout = '5s'")
            start.wait()
            for _ in range(ROWS):  # bounded: each pass claims at least one row or stops
                with conn.transaction():
                    ids = _claim(conn, BATCH)
                    if not ids:
                        break
                    conn.execute(
                        "UPDATE expired SET claims = claims + 1 WHERE id = ANY(%s)", (ids,)
                    )
                    # Hold the locks a moment so the other worker runs into them.
                    conn.execute("SELECT pg_sleep(0.005)")
                mine.extend(ids)
        return mine

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(work) for _ in range(2)]
        claimed = dict(zip("ab", (future.result(timeout=30) for future in futures), strict=True))

    assert claimed["a"] and claimed["b"], "both workers should have taken part"
    assert not set(claimed["a"]) & set(claimed["b"])
    assert Counter(claimed["a"] + claimed["b"]) == Counter(range(1, ROWS + 1))
    with psycopg.connect(postgres_db) as conn:
        assert conn.execute(
            "SELECT count(*) FILTER (WHERE claims = 1), count(*) FROM expired"
        ).fetchone() == (ROWS, ROWS)
