"""Broker config: precedence, validation, every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.errors import ConfigError
from broker.settings import load, parse_duration

GOOD = """
listen: {port: 8181}
vault: {addr: "http://127.0.0.1:8200/", token_file: /run/sluice/token}
store: {sqlite_path: /var/lib/sluice/sessions.db}
issuers:
  - issuer: https://kubernetes.default.svc
    audiences: [sluice]
rules:
  - name: demo
    issuer: https://kubernetes.default.svc
    match: {sub: "system:serviceaccount:demo:*"}
    policies: [demo-read]
    ttl: 15m
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broker.yaml"
    path.write_text(text)
    return path


def test_file_is_parsed_with_defaults(tmp_path: Path) -> None:
    """A minimal file gives loopback host, normalised vault addr, rule ttl in seconds."""
    cfg = load(write(tmp_path, GOOD), {})
    assert (cfg.host, cfg.port, cfg.vault.addr) == ("127.0.0.1", 8181, "http://127.0.0.1:8200")
    rule = cfg.rules[0]
    assert (rule.ttl_s, rule.no_default_policy) == (900, True)
    assert [(c.claim, c.kind, c.values) for c in rule.match] == [
        ("sub", "glob", ("system:serviceaccount:demo:*",))
    ]


def test_env_overrides_file_and_flags_override_env(tmp_path: Path) -> None:
    """defaults < file < SLUICE_* env < flags."""
    env = {"SLUICE_BROKER_PORT": "9000", "SLUICE_VAULT_ADDR": "http://127.0.0.1:9200"}
    assert load(write(tmp_path, GOOD), env).port == 9000
    cfg = load(write(tmp_path, GOOD), env, {"listen.port": 9100})
    assert (cfg.port, cfg.vault.addr) == (9100, "http://127.0.0.1:9200")


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    """One ConfigError names every bad field."""
    text = """
listen: {host: localhost, port: -1}
vault: {addr: ftp://x}
issuers: [{issuer: https://a, audiences: [], algorithms: [HS256]}]
rules: [{issuer: https://b, policies: [root], ttl: forever}]
"""
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text), {})
    where = {w for w, _ in info.value.problems}
    assert {
        "listen.host",
        "listen.port",
        "vault.addr",
        "vault.token_file",
        "store.sqlite_path",
        "issuers[0].audiences",
        "issuers[0].algorithms",
        "rules[0].issuer",
        "rules[0].policies",
        "rules[0].ttl",
    } <= where


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    """A missing file is reported, not a traceback."""
    with pytest.raises(ConfigError):
        load(tmp_path / "missing.yaml", {})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90), ("90", 90), ("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400)],
)
def test_durations(text: object, seconds: int) -> None:
    """Durations accept bare seconds and s/m/h/d suffixes."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0", "-5", "5y", "", "1.5h", True])
def test_bad_durations(text: object) -> None:
    """Zero, negative, unknown units and non-integers are refused."""
    with pytest.raises(ValueError):
        parse_duration(text)
