"""`sluice broker explain --claims`: the matching rule, why earlier ones failed, the exact grant."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from broker.cli import broker
from tests.support import tokens

CONFIG = """\
vault: {addr: "http://127.0.0.1:8200", token_file: /run/t}
store: {sqlite_path: /tmp/s.db}
issuers:
  - {name: k8s, kind: kubernetes, issuer: "https://k8s.example", audiences: [sluice]}
rules:
  - name: prod
    issuer: k8s
    match: {kubernetes.io.namespace: prod}
    policies: [sluice-prod]
  - name: previews
    issuer: k8s
    match: {kubernetes.io.namespace: "preview-*"}
    policies: [sluice-previews-common]
    acl: |
      path "secret/data/previews/{claims.kubernetes.io.namespace}/*" {
        capabilities = ["read"]
      }
    ttl: 15m
"""


def run(tmp_path: Path, claims: dict[str, object], config: str = CONFIG) -> tuple[int, str]:
    (tmp_path / "broker.yaml").write_text(config)
    (tmp_path / "claims.json").write_text(json.dumps(claims))
    result = CliRunner().invoke(
        broker,
        [
            "explain",
            "--config",
            str(tmp_path / "broker.yaml"),
            "--claims",
            str(tmp_path / "claims.json"),
        ],
    )
    return result.exit_code, result.output


def test_match_shows_earlier_misses_and_the_rendered_acl(tmp_path: Path) -> None:
    """The output names the rule, why `prod` did not match, and the exact policy HCL."""
    claims = tokens.kubernetes_claims(now=1, issuer="https://k8s.example", namespace="preview-7")
    code, out = run(tmp_path, claims)
    assert code == 0, out
    assert "NOT verified" in out
    assert "1. prod: no match" in out
    assert "claim kubernetes.io.namespace = 'preview-7' does not satisfy" in out
    assert "2. previews: MATCH" in out
    assert "openbao policies: ['sluice-previews-common']" in out
    assert 'path "secret/data/previews/preview-7/*" {' in out
    assert "ttl: 900s" in out and "nothing was created" in out


def test_no_match_is_deny_with_exit_1(tmp_path: Path) -> None:
    """Claims no rule matches: every rule's reason, then deny."""
    claims = tokens.kubernetes_claims(now=1, issuer="https://k8s.example", namespace="dev")
    code, out = run(tmp_path, claims)
    assert code == 1
    assert "decision: deny (no_matching_rule)" in out
    assert out.count(": no match") == 2


def test_widening_claim_is_shown_as_refused(tmp_path: Path) -> None:
    """A matching rule whose ACL cannot be rendered safely is a deny with unsafe_claim_value."""
    claims = tokens.kubernetes_claims(now=1, issuer="https://k8s.example", namespace="preview-*")
    code, out = run(tmp_path, claims)
    assert code == 1 and "deny (unsafe_claim_value)" in out


def test_config_errors_exit_2_with_location(tmp_path: Path) -> None:
    """A broken config is reported with field, file and line, exit 2."""
    code, out = run(tmp_path, {}, CONFIG.replace("ttl: 15m", "ttl: forever"))
    assert code == 2
    assert "rules[1].ttl" in out and "broker.yaml:18)" in out


def test_exactly_one_identity_source(tmp_path: Path) -> None:
    """--token and --claims together are a usage error."""
    (tmp_path / "broker.yaml").write_text(CONFIG)
    result = CliRunner().invoke(
        broker,
        ["explain", "--config", str(tmp_path / "broker.yaml"), "--token", "x", "--claims", "y"],
    )
    assert result.exit_code == 2
