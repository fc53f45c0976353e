"""What Sluice relies on when it ends a session, shown against real OpenBao and PostgreSQL.

- Dynamic database credentials read with a session token (or any child of it) are leases of
  that token: one ``revoke-accessor`` drops the PostgreSQL roles.
- Revoking a session token revokes every child token made with it, in the same call.
- A token nobody revokes still takes its leases down when its TTL runs out.
- Token metadata (``sluice_session``) is readable through the accessor list, which is how a
  reconciler finds Sluice's tokens at start-up; listing needs ``sudo``.
- Tokens outlive an OpenBao outage (raft storage) and can be revoked once it is back.

Measured figures are attached to the test items (``user_properties``, in JUnit xunit1 reports).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import hvac
import hvac.exceptions
import psycopg
import pytest
import requests

from demo.openbao import DevServer
from tests.support.openbao_raft import RaftOpenBao
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration

REVOCATION_BOUND_S = 15.0


@pytest.fixture(scope="module")
def bao() -> Iterator[hvac.Client]:
    """Root client of a dev OpenBao of this module's own: the accessor listing sees only its tokens."""
    with DevServer() as server:
        yield hvac.Client(server.addr, token=server.root_token, timeout=10)


def _client(root: hvac.Client, token: str, timeout: float = 10) -> hvac.Client:
    return hvac.Client(root.url, token=token, timeout=timeout)


def _session_token(
    root: hvac.Client, policy: str, session_id: str, ttl: str = "10m"
) -> dict[str, Any]:
    """A session token as the broker makes one: non-orphan service token, tagged, no default policy."""
    auth = root.auth.token.create(
        policies=[policy],
        no_default_policy=True,
        ttl=ttl,
        meta={"sluice_session": session_id},
    )["auth"]
    assert auth["orphan"] is False and auth["token_type"] == "service"
    return dict(auth)


def _record(request: pytest.FixtureRequest, name: str, value: object) -> None:
    # Not the record_property fixture: it warns (an error here) under junit_family=xunit2.
    request.node.user_properties.append((name, value))


def _poll_until(check: Callable[[], bool], bound_s: float, interval_s: float = 0.01) -> float:
    """Seconds until ``check()`` held; fails the test past ``bound_s``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > bound_s:
            pytest.fail(f"condition not met within {bound_s} s")
        time.sleep(interval_s)
    return time.monotonic() - started


def _roles_gone_within(server: PostgresServer, users: list[str]) -> float:
    """Seconds until none of ``users`` is left in pg_roles (bounded)."""
    with psycopg.connect(server.dsn, autocommit=True) as admin:

        def roles_gone() -> bool:
            row = admin.execute(
                "SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)", (users,)
            ).fetchone()
            return row is not None and row[0] == 0

        return _poll_until(roles_gone, REVOCATION_BOUND_S)


@dataclass(frozen=True)
class DatabaseMount:
    path: str
    role: str
    dbname: str


@pytest.fixture
def database_mount(
    bao: hvac.Client, postgres_server: PostgresServer, postgres_db: str
) -> DatabaseMount:
    """The database secrets engine pointed at a fresh PostgreSQL database with one table."""
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL)")
        conn.execute("INSERT INTO orders VALUES (1, 'widget'), (2, 'gadget')")
    dbname = psycopg.conninfo.conninfo_to_dict(postgres_db)["dbname"]
    mount = DatabaseMount(path=f"db-{secrets.token_hex(4)}", role="reader", dbname=str(dbname))
    bao.sys.enable_secrets_engine("database", path=mount.path)
    bao.write(
        f"{mount.path}/config/orders",
        plugin_name="postgresql-database-plugin",
        connection_url=(
            "postgresql://{{username}}:{{password}}@"
            f"127.0.0.1:{postgres_server.port}/{dbname}?sslmode=disable"
        ),
        username=postgres_server.superuser,
        password=postgres_server.password,
        allowed_roles=[mount.role],
        verify_connection=True,
    )
    bao.write(
        f"{mount.path}/roles/{mount.role}",
        db_name="orders",
        default_ttl="5m",
        max_ttl="10m",
        creation_statements=[
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
            'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";',
        ],
    )
    return mount


def _creds_policy(bao: hvac.Client, m: DatabaseMount) -> str:
    """A per-session policy: read the role's credentials, make child tokens."""
    policy = f"session-{secrets.token_hex(4)}"
    bao.sys.create_or_update_policy(
        policy,
        f'path "{m.path}/creds/{m.role}" {{ capabilities = ["read"] }}\n'
        'path "auth/token/create" { capabilities = ["create", "update"] }\n',
    )
    return policy


def test_dynamic_database_credentials_die_with_the_session_token(
    bao: hvac.Client,
    postgres_server: PostgresServer,
    database_mount: DatabaseMount,
    request: pytest.FixtureRequest,
) -> None:
    """Credentials read by a session token and by its child stop working once the session token is revoked."""
    m = database_mount
    session = _session_token(bao, _creds_policy(bao, m), "sess-db")
    session_client = _client(bao, session["client_token"])
    child = session_client.auth.token.create(ttl="5m")["auth"]
    leases = [
        session_client.read(f"{m.path}/creds/{m.role}"),
        _client(bao, child["client_token"]).read(f"{m.path}/creds/{m.role}"),
    ]
    logins = [(lease["data"]["username"], lease["data"]["password"]) for lease in leases]
    for user, password in logins:
        with psycopg.connect(postgres_server.dsn_for(m.dbname, user, password)) as conn:
            assert conn.execute("SELECT item FROM orders ORDER BY id").fetchall() == [
                ("widget",),
                ("gadget",),
            ]

    started = time.monotonic()
    bao.auth.token.revoke_accessor(session["accessor"])
    call_s = time.monotonic() - started

    # Lease revocation runs behind the revoke call: poll, bounded.
    gone_s = call_s + _roles_gone_within(postgres_server, [user for user, _ in logins])
    _record(request, "revoke_accessor_call_s", round(call_s, 4))
    _record(request, "db_roles_dropped_after_s", round(gone_s, 4))

    for user, password in logins:
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(postgres_server.dsn_for(m.dbname, user, password), connect_timeout=5)
    for lease in leases:
        with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid lease"):
            bao.write("sys/leases/lookup", lease_id=lease["lease_id"])


def test_dynamic_database_credentials_die_when_the_session_token_expires(
    bao: hvac.Client,
    postgres_server: PostgresServer,
    database_mount: DatabaseMount,
    request: pytest.FixtureRequest,
) -> None:
    """A token nobody revokes (its broker crashed) still takes its 5-minute lease down at its 2 s TTL."""
    m = database_mount
    session = _session_token(bao, _creds_policy(bao, m), "sess-expiring", ttl="2s")
    lease = _client(bao, session["client_token"]).read(f"{m.path}/creds/{m.role}")
    assert lease["lease_duration"] == 300
    started = time.monotonic()

    gone_s = _roles_gone_within(postgres_server, [lease["data"]["username"]])
    _record(request, "db_roles_dropped_after_token_expiry_s", round(gone_s, 3))
    assert time.monotonic() - started >= 1  # it went at expiry, not at once
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid lease"):
        bao.write("sys/leases/lookup", lease_id=lease["lease_id"])


def test_revoking_a_session_token_revokes_every_child_at_once(bao: hvac.Client) -> None:
    """One revoke-accessor call on the session token leaves none of its children usable."""
    kv_path = f"child-{secrets.token_hex(4)}"
    bao.secrets.kv.v2.create_or_update_secret(path=kv_path, secret={"value": "x"})
    policy = f"session-{secrets.token_hex(4)}"
    bao.sys.create_or_update_policy(
        policy,
        f'path "secret/data/{kv_path}" {{ capabilities = ["read"] }}\n'
        'path "auth/token/create" { capabilities = ["create", "update"] }\n',
    )
    session = _session_token(bao, policy, "sess-children")
    session_client = _client(bao, session["client_token"])
    children = [session_client.auth.token.create(ttl="5m")["auth"] for _ in range(20)]
    # A grandchild too: the whole tree goes, not just one level.
    grandchild = _client(bao, children[0]["client_token"]).auth.token.create(ttl="5m")["auth"]
    family = [*children, grandchild]
    for token in family:
        assert _client(bao, token["client_token"]).secrets.kv.v2.read_secret_version(
            path=kv_path, raise_on_deleted_version=True
        )["data"]["data"] == {"value": "x"}

    bao.auth.token.revoke_accessor(session["accessor"])

    # No polling: the children are already dead when the call returns.
    for token in family:
        with pytest.raises(hvac.exceptions.Forbidden):
            _client(bao, token["client_token"]).secrets.kv.v2.read_secret_version(
                path=kv_path, raise_on_deleted_version=True
            )
        with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid accessor"):
            bao.auth.token.lookup_accessor(token["accessor"])
    # Revoking again succeeds: a retried revocation (broker restarted mid-way) is harmless.
    bao.auth.token.revoke_accessor(session["accessor"])


def test_tagged_tokens_are_found_by_listing_accessors(
    bao: hvac.Client, request: pytest.FixtureRequest
) -> None:
    """A reconciler finds every token tagged with a session id, and no revoked one, via the accessor list."""
    run = secrets.token_hex(4)
    bao.sys.create_or_update_policy(f"noop-{run}", 'path "sys/nothing" { capabilities = ["deny"] }')
    issued = {
        f"{run}-{i}": _session_token(bao, f"noop-{run}", f"{run}-{i}")["accessor"]
        for i in range(200)
    }
    revoked_session = f"{run}-0"
    bao.auth.token.revoke_accessor(issued.pop(revoked_session))
    # The reconciler is not root: listing accessors needs `sudo` on top of `list`.
    lookup = 'path "auth/token/lookup-accessor" { capabilities = ["update"] }\n'
    bao.sys.create_or_update_policy(
        f"list-only-{run}", 'path "auth/token/accessors" { capabilities = ["list"] }\n' + lookup
    )
    bao.sys.create_or_update_policy(
        f"reconciler-{run}",
        'path "auth/token/accessors" { capabilities = ["list", "sudo"] }\n' + lookup,
    )
    list_only = _client(bao, _session_token(bao, f"list-only-{run}", "-")["client_token"])
    with pytest.raises(hvac.exceptions.Forbidden):
        list_only.list("auth/token/accessors")
    reconciler = _client(bao, _session_token(bao, f"reconciler-{run}", "-")["client_token"])

    started = time.monotonic()
    accessors = reconciler.list("auth/token/accessors")["data"]["keys"]
    listed_s = time.monotonic() - started
    found: dict[str, str] = {}
    for accessor in accessors:
        try:
            data = reconciler.auth.token.lookup_accessor(accessor)["data"]
        except hvac.exceptions.InvalidRequest:
            continue  # revoked or expired between list and lookup
        session_id = (data.get("meta") or {}).get("sluice_session", "")
        if session_id.startswith(f"{run}-"):
            found[session_id] = data["accessor"]
    total_s = time.monotonic() - started
    _record(request, "accessors_listed", len(accessors))
    _record(request, "accessor_list_s", round(listed_s, 4))
    _record(request, "accessor_list_and_lookup_s", round(total_s, 4))

    assert found == issued
    assert revoked_session not in found


def test_tokens_outlive_an_openbao_outage_and_are_revocable_after_it(
    openbao_raft: RaftOpenBao, request: pytest.FixtureRequest
) -> None:
    """While OpenBao is down calls fail fast with a connection error; afterwards old tokens work and revoke."""
    root = hvac.Client(openbao_raft.addr, token=openbao_raft.root_token, timeout=5)
    # KV v1: a fresh v2 mount answers 400 ("Upgrading from non-versioned...") for a moment.
    root.sys.enable_secrets_engine("kv", path="kv", options={"version": "1"})
    root.secrets.kv.v1.create_or_update_secret(path="app", secret={"v": "1"}, mount_point="kv")
    root.sys.create_or_update_policy(
        "outage",
        'path "kv/app" { capabilities = ["read"] }\n'
        'path "auth/token/create" { capabilities = ["create", "update"] }\n',
    )
    session = _session_token(root, "outage", "sess-outage")
    child = _client(root, session["client_token"]).auth.token.create(ttl="5m")["auth"]

    openbao_raft.stop(graceful=False)  # a crash, not a maintenance window
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        root.auth.token.revoke_accessor(session["accessor"])
    _record(request, "request_during_outage_failed_after_s", round(time.monotonic() - started, 4))
    assert time.monotonic() - started < 2  # refused, not hung until the client timeout

    openbao_raft.start()
    _record(request, "raft_restart_s", round(openbao_raft.startup_s, 3))
    for token in (session, child):
        reader = _client(root, token["client_token"], timeout=2)
        assert reader.secrets.kv.v1.read_secret(path="app", mount_point="kv")["data"] == {"v": "1"}
    assert root.auth.token.lookup_accessor(session["accessor"])["data"]["meta"] == {
        "sluice_session": "sess-outage"
    }

    root.auth.token.revoke_accessor(session["accessor"])
    for token in (session, child):
        with pytest.raises(hvac.exceptions.Forbidden):
            _client(root, token["client_token"], timeout=2).secrets.kv.v1.read_secret(
                path="app", mount_point="kv"
            )
