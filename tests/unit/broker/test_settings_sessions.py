"""Config of the store, the session lifecycle and the admin API."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.errors import ConfigError
from broker.settings import load
from broker.settings_sessions import SessionSettings

BASE = """
vault: {addr: "http://127.0.0.1:8200", token_file: /run/sluice/token}
issuers:
  - issuer: https://kubernetes.default.svc
    audiences: [sluice]
rules:
  - name: demo
    issuer: https://kubernetes.default.svc
    match: {sub: "system:serviceaccount:demo:*"}
    policies: [demo-read]
"""


def cfg(tmp_path: Path, extra: str, env: dict[str, str] | None = None,
        overrides: dict[str, object] | None = None):  # type: ignore[no-untyped-def]  # fmt: skip
    path = tmp_path / "broker.yaml"
    path.write_text(BASE + extra)
    return load(path, env or {}, overrides)


def problems(tmp_path: Path, extra: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        cfg(tmp_path, extra)
    return [where for where, _ in info.value.problems]


def test_defaults(tmp_path: Path) -> None:
    """SQLite path alone: no DSN, default lifecycle, no admin API."""
    s = cfg(tmp_path, "store: {sqlite_path: /var/lib/s.db}\n")
    assert s.store_dsn is None and s.store_location == "/var/lib/s.db"
    assert s.sessions == SessionSettings()
    assert s.admin.token_file is None and s.admin.socket is None


@pytest.mark.parametrize(
    ("store", "location"),
    [
        ("{dsn: 'postgresql://sluice@db:5432/sluice'}", "postgresql://sluice@db:5432/sluice"),
        ("{dsn: 'postgres://sluice@db/sluice', sqlite_path: /x.db}", "postgres://sluice@db/sluice"),
    ],
)
def test_postgres_dsn_wins(tmp_path: Path, store: str, location: str) -> None:
    """A DSN selects the PostgreSQL store."""
    s = cfg(tmp_path, f"store: {store}\n")
    assert s.store_dsn == s.store_location == location


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://sluice:hunter2@db/sluice", "postgresql://db/sluice?password=hunter2",
     "mysql://db/x"],
)  # fmt: skip
def test_dsn_with_a_password_or_wrong_scheme_is_refused(tmp_path: Path, dsn: str) -> None:
    """Passwords never live in config (libpq reads PGPASSFILE); only postgresql:// URLs."""
    with pytest.raises(ConfigError) as info:
        cfg(tmp_path, f"store: {{dsn: '{dsn}'}}\n")
    assert [w for w, _ in info.value.problems] == ["store.dsn"]
    assert "hunter2" not in str(info.value)


def test_store_from_env_and_flag(tmp_path: Path) -> None:
    """SLUICE_STORE_DSN and the --store override select the store."""
    s = cfg(tmp_path, "", env={"SLUICE_STORE_DSN": "postgresql://sluice@db/s"})
    assert s.store_location == "postgresql://sluice@db/s"
    s = cfg(tmp_path, "", overrides={"store.sqlite_path": "/tmp/x.db"})
    assert s.store_location == "/tmp/x.db"


def test_missing_store_is_reported(tmp_path: Path) -> None:
    """Neither a DSN nor a SQLite path: one problem naming both options."""
    assert problems(tmp_path, "") == ["store.sqlite_path"]


def test_lifecycle_settings(tmp_path: Path) -> None:
    """Every lifecycle knob is read; a zero heartbeat window disables heartbeats."""
    s = cfg(
        tmp_path,
        "store: {sqlite_path: /s.db}\n"
        "sessions: {heartbeat_window_s: 0, claim_s: 5, retry_max_s: 2, open_timeout_s: 3,"
        " pending_grace_s: 4, revoke_concurrency: 8, reap_batch: 50, reconcile_at_start: false}\n",
    )
    assert s.sessions == SessionSettings(None, 5, 2, 3, 4, 8, 50, False)
    assert cfg(tmp_path, "store: {sqlite_path: /s.db}\nsessions: {heartbeat_window_s: 30}\n"
               ).sessions.heartbeat_window_s == 30  # fmt: skip


def test_bad_lifecycle_and_admin_values_are_all_reported(tmp_path: Path) -> None:
    """Negative and non-numeric values, a socket without a credential: reported together."""
    found = problems(
        tmp_path,
        "store: {sqlite_path: /s.db}\n"
        "sessions: {claim_s: -1, retry_max_s: soon}\n"
        "admin: {socket: /run/sluice/admin.sock}\n",
    )
    assert found == ["sessions.claim_s", "sessions.retry_max_s", "admin.socket"]


def test_admin_settings(tmp_path: Path) -> None:
    """The admin credential is named by file; the socket is optional."""
    s = cfg(
        tmp_path,
        "store: {sqlite_path: /s.db}\n"
        "admin: {token_file: /run/sluice/admin-token, socket: /run/sluice/admin/a.sock}\n",
    )
    assert s.admin.token_file == Path("/run/sluice/admin-token")
    assert s.admin.socket == Path("/run/sluice/admin/a.sock")


def test_pending_grace_must_outlast_an_open(tmp_path: Path) -> None:
    """A grace shorter than the open timeout would let the reconciler kill opens in flight."""
    found = problems(
        tmp_path,
        "store: {sqlite_path: /s.db}\nsessions: {open_timeout_s: 20, pending_grace_s: 10}\n",
    )
    assert found == ["sessions.pending_grace_s"]
