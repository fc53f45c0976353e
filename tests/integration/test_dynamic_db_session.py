"""Dynamic database credentials obtained through a session die when the session ends:
OpenBao's database engine on a real PostgreSQL; the broker's one revocation drops the role."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from broker import lifecycle
from broker.claims import VerifiedClaims
from broker.policy import Grant
from broker.sessions import State
from broker.store import open_store
from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.support.postgres import PostgresServer
from tests.support.sessions import Backend, Clock, config_text, in_process_app, load_settings

pytestmark = pytest.mark.integration
BOUND_S = 15.0


@pytest.fixture
def db_role(openbao: DevServer, postgres_server: PostgresServer, postgres_db: str) -> str:
    """A database secrets mount with role `reader` on a fresh database; returns the mount."""
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL)")
        conn.execute("INSERT INTO orders VALUES (1, 'widget')")
    dbname = psycopg.conninfo.conninfo_to_dict(postgres_db)["dbname"]
    mount = f"db-{secrets.token_hex(4)}"
    openbao.ok("POST", f"sys/mounts/{mount}", {"type": "database"})
    openbao.ok("POST", f"{mount}/config/orders", {
        "plugin_name": "postgresql-database-plugin",
        "connection_url": (
            "postgresql://{{username}}:{{password}}@"
            f"127.0.0.1:{postgres_server.port}/{dbname}?sslmode=disable"
        ),
        "username": postgres_server.superuser, "password": postgres_server.password,
        "allowed_roles": ["reader"], "verify_connection": True,
    })  # fmt: skip
    openbao.ok("POST", f"{mount}/roles/reader", {
        "db_name": "orders", "default_ttl": "5m", "max_ttl": "10m",
        "creation_statements": [
            ("CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}'"
            " VALID UNTIL '{{expiration}}';"),
            'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";',
        ],
    })  # fmt: skip
    return mount


@pytest.fixture
async def app_and_backend(
    short_tmp: Path, openbao: DevServer, broker_vault_token_file: Path, issuer: Issuer
) -> AsyncIterator[tuple[Any, Backend]]:
    cfg = short_tmp / "broker.yaml"
    cfg.write_text(
        config_text(
            vault_addr=openbao.addr,
            token_file=broker_vault_token_file,
            issuer_url=issuer.url,
            policies=["sluice-none"],
            store={"sqlite_path": str(short_tmp / "s.db")},
        )
    )
    settings = load_settings(cfg)
    store = await open_store(settings.store_location)
    app, backend = in_process_app(settings, store, Clock())
    yield app, backend
    await backend.close()  # the app is driven directly, never started: its cleanup never runs
    await store.close()


def poll(check: Any, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > BOUND_S:
            pytest.fail(f"{what} not within {BOUND_S} s")
        time.sleep(0.05)
    return time.monotonic() - started


async def test_database_credentials_die_with_the_session(
    app_and_backend: tuple[Any, Backend],
    db_role: str,
    openbao: DevServer,
    postgres_server: PostgresServer,
    postgres_db: str,
) -> None:
    """Creds read through the session connect; after the session ends they cannot, and the
    role is gone from pg_roles (bounded wait: OpenBao revokes leases behind the call)."""
    app, backend = app_and_backend
    acl = f'path "{db_role}/creds/reader" {{ capabilities = ["read"] }}\n'
    who = VerifiedClaims("https://iss", "system:serviceaccount:shop:api", ("sluice",), 0.0, {})
    grant = Grant(rule="app", policies=("sluice-none",), ttl_s=300, no_default_policy=True)
    opened = await lifecycle.open_session(app, identity=who, grant=grant, acl_hcl=acl)
    status, lease = openbao.api("GET", f"{db_role}/creds/reader", token=opened.token.reveal())
    assert status == 200, lease
    user, password = lease["data"]["username"], lease["data"]["password"]
    dbname = str(psycopg.conninfo.conninfo_to_dict(postgres_db)["dbname"])
    with psycopg.connect(postgres_server.dsn_for(dbname, user, password)) as conn:
        assert conn.execute("SELECT item FROM orders").fetchall() == [("widget",)]

    outcome = await lifecycle.end_session(app, opened.session_id)
    assert outcome.state is State.ENDED and backend.revokes == [opened.accessor]

    with psycopg.connect(postgres_server.dsn, autocommit=True) as admin:
        poll(
            lambda: (
                admin.execute(
                    "SELECT count(*) FROM pg_roles WHERE rolname = %s", (user,)
                ).fetchone()
                == (0,)
            ),
            "role dropped",
        )
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_server.dsn_for(dbname, user, password), connect_timeout=5)
    assert openbao.api("PUT", "sys/leases/lookup", {"lease_id": lease["lease_id"]})[0] == 400
