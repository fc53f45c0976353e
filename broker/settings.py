"""Broker configuration: frozen dataclasses, loaded once by the CLI.

Precedence: defaults < YAML file < ``SLUICE_*`` environment < command-line flags. Every problem
is collected and reported together as a ``ConfigError``. Secrets never live here: the config
names the file that holds the broker's OpenBao token.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from broker import config_marks
from broker.claims import IssuerConfig
from broker.errors import ConfigError
from broker.policy import Rule
from broker.policy_load import load_rules
from broker.settings_identity import IdentitySettings, identity_settings, issuer_configs
from broker.settings_sessions import (
    AdminSettings,
    SessionSettings,
    admin_settings,
    session_settings,
    store_location,
)

ENV_KEYS = {
    "SLUICE_BROKER_HOST": ("listen", "host"),
    "SLUICE_BROKER_PORT": ("listen", "port"),
    "SLUICE_VAULT_ADDR": ("vault", "addr"),
    "SLUICE_VAULT_TOKEN_FILE": ("vault", "token_file"),
    "SLUICE_VAULT_TOKEN_ROLE": ("vault", "token_role"),
    "SLUICE_STORE_PATH": ("store", "sqlite_path"),
    "SLUICE_STORE_DSN": ("store", "dsn"),
    "SLUICE_ADMIN_TOKEN_FILE": ("admin", "token_file"),
}

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class VaultSettings:
    addr: str
    token_file: Path
    token_role: str | None = None  # create session tokens via auth/token/create/<role>
    timeout_s: float = 5.0


@dataclass(frozen=True)
class Settings:
    vault: VaultSettings
    sqlite_path: Path
    issuers: tuple[IssuerConfig, ...]
    rules: tuple[Rule, ...] = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    http_timeout_s: float = 5.0  # issuer discovery/JWKS fetches
    jwks_min_refresh_s: float = 10.0  # at most one refetch per issuer per interval on unknown kid
    reap_interval_s: float = 30.0  # expire/retry-ending pass of the session table
    store_dsn: str | None = None  # postgresql://... (no password); else sqlite_path is used
    sessions: SessionSettings = field(default_factory=SessionSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    identity: IdentitySettings = field(default_factory=IdentitySettings)  # token, audit, limits

    @property
    def store_location(self) -> str:
        return self.store_dsn or str(self.sqlite_path)


def parse_duration(value: object) -> int:
    """``600``, ``"600"``, ``"10m"``, ``"1h"`` -> seconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        m = _DURATION.match(str(value).strip())
        if not m:
            raise ValueError("expected seconds or a duration like 90s, 10m, 1h")
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError("must be positive")
    return seconds


def load(
    path: Path | None, env: Mapping[str, str], overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Merge file, environment and flag overrides (``{"listen.port": 8081}``) into Settings."""
    problems: list[tuple[str, str]] = []
    raw: dict[str, Any] = {}
    text = ""
    if path is not None:
        try:
            text = path.read_text()
            loaded = yaml.safe_load(text)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError([(str(path), f"cannot read: {type(exc).__name__}")]) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError([(str(path), "top level must be a mapping")])
        raw = loaded or {}
    for var, (section, key) in ENV_KEYS.items():
        if var in env:
            raw.setdefault(section, {})[key] = env[var]
    for dotted, value in (overrides or {}).items():
        section, key = dotted.split(".", 1)
        raw.setdefault(section, {})[key] = value
    if path is not None and isinstance(raw.get("policy_file"), str):
        raw["policy_file"] = str(path.parent / raw["policy_file"])  # relative to the config
    settings = _build(raw, problems)
    if problems or settings is None:
        # Each problem gets the file:line of its field (or of the nearest enclosing one).
        where = str(path) if path is not None else "<config>"
        raise ConfigError(config_marks.locate(problems, config_marks.line_index(text), where))
    return settings


def _section(raw: Mapping[str, Any], name: str, problems: list[tuple[str, str]]) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        problems.append((name, "must be a mapping"))
        return {}
    return value


def _build(raw: Mapping[str, Any], problems: list[tuple[str, str]]) -> Settings | None:
    listen = _section(raw, "listen", problems)
    vault = _section(raw, "vault", problems)
    store = _section(raw, "store", problems)

    host = str(listen.get("host", "127.0.0.1"))
    try:
        ipaddress.ip_address(host)
    except ValueError:
        problems.append(("listen.host", "must be an IP address (use 127.0.0.1 unless exposed)"))
    port = _int(listen.get("port", 8080), "listen.port", problems, lo=0, hi=65535)

    addr = vault.get("addr")
    if not isinstance(addr, str) or not addr.startswith(("http://", "https://")):
        problems.append(("vault.addr", "required, an http(s) URL"))
    token_file = vault.get("token_file")
    if not isinstance(token_file, str) or not token_file:
        problems.append(("vault.token_file", "required: path of the file holding the token"))
    role = vault.get("token_role")
    if role is not None and (not isinstance(role, str) or not re.fullmatch(r"[\w.-]+", role)):
        problems.append(("vault.token_role", "must be a token role name"))
    timeout = _float(vault.get("timeout_s", 5.0), "vault.timeout_s", problems)

    location = store_location(store, problems)
    sqlite_path = store.get("sqlite_path") or ""
    sessions = session_settings(raw.get("sessions"), problems)
    admin = admin_settings(raw.get("admin"), problems)

    issuers = tuple(issuer_configs(raw.get("issuers"), problems))
    rules = tuple(load_rules(raw, issuers, problems))
    identity = identity_settings(raw, problems)
    if problems:
        return None
    return Settings(
        vault=VaultSettings(
            addr=str(addr).rstrip("/"),
            token_file=Path(str(token_file)),
            token_role=role,
            timeout_s=timeout,
        ),
        sqlite_path=Path(str(sqlite_path)),
        issuers=issuers,
        rules=rules,
        host=host,
        port=port,
        http_timeout_s=_float(raw.get("http_timeout_s", 5.0), "http_timeout_s", problems),
        jwks_min_refresh_s=_float(
            raw.get("jwks_min_refresh_s", 10.0), "jwks_min_refresh_s", problems
        ),
        reap_interval_s=_float(raw.get("reap_interval_s", 30.0), "reap_interval_s", problems),
        store_dsn=location if location and location.startswith("postgres") else None,
        sessions=sessions,
        admin=admin,
        identity=identity,
    )


def _int(value: Any, where: str, problems: list[tuple[str, str]], lo: int, hi: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        problems.append((where, "must be an integer"))
        return lo
    if not lo <= number <= hi:
        problems.append((where, f"must be between {lo} and {hi}"))
    return number


def _float(value: Any, where: str, problems: list[tuple[str, str]]) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append((where, "must be a number"))
        return 1.0
    if number <= 0:
        problems.append((where, "must be positive"))
    return number
