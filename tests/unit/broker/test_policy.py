"""Claims -> grant rules: first match wins, globs, lists, issuer scoping."""

from __future__ import annotations

from typing import Any

import pytest

from broker.policy import Condition, Grant, Rule, claim_matches, grant_for

ISS = "https://issuer.example"


def when(**patterns: str) -> tuple[Condition, ...]:
    return tuple(Condition.shorthand(claim, p) for claim, p in patterns.items())


RULES = (
    Rule("ci-main", ISS, when(repository="acme/*", ref="refs/heads/main"), ("ci-deploy",), 300),
    Rule("ci-any", ISS, when(repository="acme/*"), ("ci-read",), 120, no_default_policy=False),
    Rule("pods", ISS, when(sub="system:serviceaccount:demo:*"), ("demo-read",), 600),
)


@pytest.mark.parametrize(
    ("claims", "issuer", "rule"),
    [
        ({"repository": "acme/api", "ref": "refs/heads/main"}, ISS, "ci-main"),
        ({"repository": "acme/api", "ref": "refs/heads/feature"}, ISS, "ci-any"),
        ({"repository": "other/api", "ref": "refs/heads/main"}, ISS, None),
        ({"sub": "system:serviceaccount:demo:app"}, ISS, "pods"),
        ({"sub": "system:serviceaccount:prod:app"}, ISS, None),
        ({"sub": "system:serviceaccount:demo:app"}, "https://other.example", None),
        ({}, ISS, None),
    ],
)
def test_first_matching_rule_wins(claims: dict[str, Any], issuer: str, rule: str | None) -> None:
    """The earliest rule whose issuer and all claim patterns match gives the grant."""
    grant = grant_for(RULES, issuer, claims)
    assert (grant.rule if grant else None) == rule


def test_grant_carries_the_rules_policies_ttl_and_default_flag() -> None:
    """The grant copies policies, ttl and no_default_policy from the rule."""
    assert grant_for(RULES, ISS, {"repository": "acme/x", "ref": "y"}) == Grant(
        "ci-any", ("ci-read",), 120, False
    )


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("acme/api", "acme/api", True),
        ("acme/api", "acme/*", True),
        ("Acme/api", "acme/*", False),  # case-sensitive
        ("acme/api", "acme/ap?", True),
        (["dev", "ops"], "ops", True),
        (["dev"], "ops", False),
        (True, "true", True),
        (42, "42", True),
        (None, "*", False),
        ({"nested": "x"}, "*", False),
    ],
)
def test_claim_matching(value: Any, pattern: str, expected: bool) -> None:
    """Globs on strings, any-of on lists, booleans and numbers as their text."""
    assert claim_matches(value, pattern) is expected
