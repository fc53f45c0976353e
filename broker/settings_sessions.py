"""Settings of the session lifecycle, the store and the admin API (``sessions:``, ``store:``,
``admin:`` sections of the broker config). Parsed into frozen dataclasses; problems are
appended to the caller's list so ``broker.settings.load`` reports everything at once.

Secrets never live here: a PostgreSQL DSN must not carry a password (libpq reads it from
``PGPASSWORD``/``PGPASSFILE``/``~/.pgpass``), and the admin credential is named by file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from broker.store import is_postgres_dsn


@dataclass(frozen=True)
class SessionSettings:
    heartbeat_window_s: float | None = 90.0  # None: sessions live until their TTL
    claim_s: float = 60.0  # how long one replica owns an ending row before another may retry
    retry_max_s: float = 60.0  # cap of the revocation retry backoff
    open_timeout_s: float = 20.0  # an open taking longer is abandoned
    pending_grace_s: float = 30.0  # a pending row older than this was abandoned by a crash
    revoke_concurrency: int = 32  # parallel OpenBao revocations in a reaper pass or mass revoke
    reap_batch: int = 500  # rows claimed per reaper query
    reconcile_at_start: bool = True  # list OpenBao accessors once at start-up


@dataclass(frozen=True)
class AdminSettings:
    token_file: Path | None = None  # the admin bearer credential; admin API off when unset
    socket: Path | None = None  # optional unix socket serving only the admin API


def store_location(store: Mapping[str, Any], problems: list[tuple[str, str]]) -> str | None:
    """``store.dsn`` (PostgreSQL) or ``store.sqlite_path``; exactly one."""
    dsn, path = store.get("dsn"), store.get("sqlite_path")
    if dsn is not None:
        if not isinstance(dsn, str) or not is_postgres_dsn(dsn):
            problems.append(("store.dsn", "must be a postgresql:// URL"))
            return None
        if urlsplit(dsn).password is not None or "password=" in dsn.lower():
            problems.append(("store.dsn", "must not contain a password: use PGPASSFILE"))
            return None
        return dsn
    if not isinstance(path, str) or not path:
        problems.append(("store.sqlite_path", "required (or store.dsn for PostgreSQL)"))
        return None
    return path


def _positive(raw: Mapping[str, Any], key: str, default: float, where: str,
              problems: list[tuple[str, str]]) -> float:  # fmt: skip
    value = raw.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append((f"{where}.{key}", "must be a number"))
        return default
    if number <= 0:
        problems.append((f"{where}.{key}", "must be positive"))
        return default
    return number


def session_settings(raw: Any, problems: list[tuple[str, str]]) -> SessionSettings:
    if raw is None:
        return SessionSettings()
    if not isinstance(raw, dict):
        problems.append(("sessions", "must be a mapping"))
        return SessionSettings()
    d = SessionSettings()
    window: float | None = d.heartbeat_window_s
    if raw.get("heartbeat_window_s", "") is None or raw.get("heartbeat_window_s") == 0:
        window = None
    elif "heartbeat_window_s" in raw:
        window = _positive(raw, "heartbeat_window_s", 90.0, "sessions", problems)
    concurrency = int(_positive(raw, "revoke_concurrency", d.revoke_concurrency, "sessions",
                                problems))  # fmt: skip
    built = SessionSettings(
        heartbeat_window_s=window,
        claim_s=_positive(raw, "claim_s", d.claim_s, "sessions", problems),
        retry_max_s=_positive(raw, "retry_max_s", d.retry_max_s, "sessions", problems),
        open_timeout_s=_positive(raw, "open_timeout_s", d.open_timeout_s, "sessions", problems),
        pending_grace_s=_positive(raw, "pending_grace_s", d.pending_grace_s, "sessions", problems),
        revoke_concurrency=max(1, concurrency),
        reap_batch=max(1, int(_positive(raw, "reap_batch", d.reap_batch, "sessions", problems))),
        reconcile_at_start=bool(raw.get("reconcile_at_start", True)),
    )
    if built.pending_grace_s <= built.open_timeout_s:
        # Otherwise the reconciler could revoke the token of an open still in flight.
        problems.append(("sessions.pending_grace_s", "must be longer than open_timeout_s"))
    return built


def admin_settings(raw: Any, problems: list[tuple[str, str]]) -> AdminSettings:
    if raw is None:
        return AdminSettings()
    if not isinstance(raw, dict):
        problems.append(("admin", "must be a mapping"))
        return AdminSettings()
    token_file, sock = raw.get("token_file"), raw.get("socket")
    for key, value in (("token_file", token_file), ("socket", sock)):
        if value is not None and (not isinstance(value, str) or not value):
            problems.append((f"admin.{key}", "must be a path"))
    if isinstance(sock, str) and len(sock.encode()) > 100:
        problems.append(("admin.socket", "unix socket paths are limited to ~100 bytes"))
    if isinstance(sock, str) and sock and not isinstance(token_file, str):
        problems.append(
            ("admin.socket", "needs admin.token_file: the socket is not the credential")
        )
    return AdminSettings(
        token_file=Path(token_file) if isinstance(token_file, str) and token_file else None,
        socket=Path(sock) if isinstance(sock, str) and sock else None,
    )
