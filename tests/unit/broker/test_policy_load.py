"""The YAML policy: matching kinds, first match wins, and errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from broker.config_marks import describe
from broker.errors import ConfigError
from broker.policy import evaluate, grant_for
from broker.settings import load
from tests.support import tokens

HEAD = """\
vault: {addr: "http://127.0.0.1:8200", token_file: /run/t}
store: {sqlite_path: /tmp/s.db}
issuers:
  - {name: k8s, kind: kubernetes, issuer: "https://k8s.example", audiences: [sluice]}
  - {name: gh, kind: github, audiences: ["https://github.com/octo-org"]}
  - {name: gl, kind: gitlab, issuer: "https://gitlab.com", audiences: [sluice]}
"""
RULES = """\
rules:
  - name: deploy-prod
    issuer: gh
    match:
      repository_owner: octo-org
      ref: refs/heads/main
      environment: prod
    policies: [sluice-deploy]
    ttl: 15m
  - name: gitlab-protected
    issuer: https://gitlab.com
    match:
      project_path: "my-group/*"
      ref_protected: true
      environment: [production, staging]
    policies: [sluice-gitlab]
  - name: previews
    issuer: k8s
    match:
      kubernetes.io.namespace: {regex: "preview-[0-9]+"}
      kubernetes.io.serviceaccount.name: {one_of: [web, worker]}
    acl: |
      path "secret/data/previews/{claims.kubernetes.io.namespace}/*" {
        capabilities = ["read"]
      }
    ttl: 10m
    max_ttl: 1h
    renewable: true
    num_uses: 3
    max_sessions_per_subject: 2
"""
NOW = 1_800_000_000
ACL_ONLY = '{name: a, issuer: k8s, acl: \'path "x/{claims.ns}" { capabilities = ["read"] }\'}'


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broker.yaml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(config(tmp_path, text), {})
    return [describe(w, why) for w, why in info.value.problems]


def test_realistic_platform_claims_match_their_rules(tmp_path: Path) -> None:
    """GitHub, GitLab and Kubernetes tokens shaped as documented each find their rule."""
    cfg = load(config(tmp_path, HEAD + RULES), {})
    k8s, gh, gl = (c.issuer for c in cfg.issuers)
    main = tokens.github_actions_claims(now=NOW)
    assert grant_for(cfg.rules, gh, main).rule == "deploy-prod"  # type: ignore[union-attr]
    feature = tokens.github_actions_claims(now=NOW, ref="refs/heads/feature")
    assert grant_for(cfg.rules, gh, feature) is None
    fork = tokens.github_actions_claims(now=NOW, repository="evil-org/octo-repo")
    assert grant_for(cfg.rules, gh, fork) is None
    assert grant_for(cfg.rules, gl, tokens.gitlab_ci_claims(now=NOW)).rule == "gitlab-protected"  # type: ignore[union-attr]
    unprotected = tokens.gitlab_ci_claims(now=NOW, ref_protected=False)
    assert grant_for(cfg.rules, gl, unprotected) is None
    pod = tokens.kubernetes_claims(now=NOW, namespace="preview-42")
    grant = grant_for(cfg.rules, k8s, pod)
    assert grant is not None and grant.acl is not None
    assert (grant.ttl_s, grant.max_ttl_s, grant.renewable, grant.num_uses) == (600, 3600, True, 3)
    assert grant.max_sessions_per_subject == 2
    # anchored regex: a suffix does not sneak through
    assert (
        grant_for(cfg.rules, k8s, tokens.kubernetes_claims(now=NOW, namespace="preview-4x")) is None
    )
    assert (
        grant_for(cfg.rules, k8s, tokens.kubernetes_claims(now=NOW, service_account="db")) is None
    )


def test_first_match_wins_and_explain_says_why_earlier_rules_failed(tmp_path: Path) -> None:
    """A broad rule listed first shadows a narrow one; evaluate names each failed condition."""
    text = HEAD + RULES.replace(
        "rules:\n",
        "rules:\n  - name: any-octo\n    issuer: gh\n    match: {repository: 'octo-org/*'}\n"
        "    policies: [sluice-read]\n",
    )
    cfg = load(config(tmp_path, text), {})
    gh = cfg.issuers[1].issuer
    assert grant_for(cfg.rules, gh, tokens.github_actions_claims(now=NOW)).rule == "any-octo"  # type: ignore[union-attr]
    grant, trace = evaluate(cfg.rules, gh, tokens.github_actions_claims(now=NOW, repository="x/y"))
    assert grant is None and [t.rule for t in trace] == [
        "any-octo", "deploy-prod", "gitlab-protected", "previews",
    ]  # fmt: skip
    assert "repository = 'x/y' does not satisfy repository glob 'octo-org/*'" in trace[0].reasons[0]
    assert "issuer is" in trace[2].reasons[0]


@pytest.mark.parametrize(
    ("bad", "where", "line"),
    [
        ("    ttl: 15m\n", "rules[0].ttl: expected seconds", 9),
        ("      environment: prod\n", "rules[0].match.environment: invalid regex", 7),
        ("    issuer: gh\n", "rules[0].issuer: must name one of the configured issuers", 3),
        ("    policies: [sluice-deploy]\n", "rules[0].policies: 'root' cannot be granted", 8),
        ("    ttl: 15m\n", "rules[0].polices: unknown field", 9),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, bad: str, where: str, line: int) -> None:
    """Each problem says which field, in which file, on which line."""
    replacement = {
        "rules[0].ttl: expected seconds": "    ttl: soon\n",
        "rules[0].match.environment: invalid regex": "      environment: {regex: 'prod(['}\n",
        "rules[0].issuer: must name one of the configured issuers": "    issuer: nobody\n",
        "rules[0].policies: 'root' cannot be granted": "    policies: [root]\n",
        "rules[0].polices: unknown field": "    polices: [x]\n",
    }[where]
    text = HEAD + RULES.replace(bad, replacement, 1)
    found = problems(tmp_path, text)
    expected_line = HEAD.count("\n") + line
    hits = [p for p in found if p.startswith(where)]
    assert hits, found
    assert hits[0].endswith(f"({tmp_path / 'broker.yaml'}:{expected_line})"), hits[0]


def test_policy_file_rules_come_after_inline_and_carry_their_own_location(tmp_path: Path) -> None:
    """policy_file (relative to the config) adds rules; its errors name that file and line."""
    (tmp_path / "policy.yaml").write_text(RULES)
    cfg = load(config(tmp_path, HEAD + "policy_file: policy.yaml\n"), {})
    assert [r.name for r in cfg.rules] == ["deploy-prod", "gitlab-protected", "previews"]
    (tmp_path / "policy.yaml").write_text(RULES.replace("    num_uses: 3\n", "    num_uses: -1\n"))
    found = problems(tmp_path, HEAD + "policy_file: policy.yaml\n")
    assert any(
        p.startswith("rules[2].num_uses: an integer >= 0") and p.endswith("policy.yaml:29)")
        for p in found
    ), found


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{name: a, issuer: k8s}", "must grant policies, an acl, or both"),
        (ACL_ONLY, None),
        ("{name: a, issuer: k8s, acl: 'path \"x/{{identity.entity.id}}\" {}'}", "only {claims"),
        ("{name: a, issuer: k8s, policies: [sluice-session-x]}", "per-session policy name"),
        ("{name: a, issuer: k8s, policies: [p], ttl: 1h, max_ttl: 10m}", "at least ttl"),
        ("{name: a, issuer: k8s, policies: [p], max_sessions_per_subject: 0}", "integer >= 1"),
        ("{name: a, issuer: k8s, policies: [p], match: {sub: []}}", "empty list"),
        ("{name: a, issuer: k8s, policies: [p], match: {sub: {like: x}}}", "use one of"),
    ],
)  # fmt: skip
def test_rule_validation(tmp_path: Path, rule: str, message: str | None) -> None:
    """Dangerous or contradictory rules are refused at start-up."""
    text = HEAD + f"rules:\n  - {rule}\n"
    if message is None:
        assert load(config(tmp_path, text), {}).rules[0].acl is not None
    else:
        assert any(message in p for p in problems(tmp_path, text))


@pytest.mark.parametrize(
    ("claims", "matched"),
    [
        ({"n": 1}, True),  # numbers compare by their text
        ({"n": "1"}, True),
        ({"n": True}, False),
        ({"n": [2, 1]}, True),  # any element of a list claim
        ({"n": {"x": 1}}, False),
        ({"n": None}, False),
        ({}, False),
    ],
)
def test_claim_value_types(tmp_path: Path, claims: dict[str, Any], matched: bool) -> None:
    """Exact conditions on numbers, lists, objects, null and absent claims."""
    text = HEAD + "rules:\n  - {name: a, issuer: k8s, policies: [p], match: {n: 1}}\n"
    cfg = load(config(tmp_path, text), {})
    assert (grant_for(cfg.rules, cfg.issuers[0].issuer, claims) is not None) is matched


def test_issuer_settings(tmp_path: Path) -> None:
    """Kinds default their algorithms and GitHub's issuer URL; HS*/none and bad names fail."""
    cfg = load(config(tmp_path, HEAD + RULES), {})
    k8s, gh, _ = cfg.issuers
    assert (gh.issuer, gh.algorithms, gh.kind) == (
        "https://token.actions.githubusercontent.com", ("RS256",), "github",
    )  # fmt: skip
    assert (k8s.leeway_s, k8s.single_use_jti, k8s.max_token_age_s) == (60.0, True, None)
    bad = HEAD.replace("kind: kubernetes,", "kind: k8s, algorithms: [HS256], clock_skew: soon,")
    found = problems(tmp_path, bad + RULES)
    assert any(p.startswith("issuers[0].kind") for p in found)
    assert any(p.startswith("issuers[0].algorithms: asymmetric") for p in found)
    assert any(p.startswith("issuers[0].clock_skew") for p in found)
