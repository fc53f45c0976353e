"""Claims -> grant rules: first match wins, globs, lists, issuer scoping."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker.policy import Condition, Grant, Rule, claim_matches, evaluate, grant_for

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


@pytest.mark.parametrize(
    ("kind", "values", "value", "expected"),
    [
        ("regex", ["preview-[0-9]+"], "preview-42", True),
        ("regex", ["preview-[0-9]+"], "preview-42x", False),  # anchored at the end
        ("regex", ["preview-[0-9]+"], "xpreview-42", False),  # and at the start
        ("regex", ["a|b"], "ab", False),  # alternation cannot escape the anchors
        ("one_of", ["web", "worker"], "worker", True),
        ("one_of", ["web", "release/*"], "release/1.2", True),  # items with globs glob
        ("one_of", ["web"], "web2", False),
        ("exact", ["refs/heads/main"], "refs/heads/main", True),
        ("exact", ["refs/heads/*"], "refs/heads/main", False),  # exact means exact
        ("glob", ["refs/heads/*"], "refs/heads/a/b", True),  # * crosses /
    ],
)
def test_condition_kinds(kind: str, values: list[str], value: str, expected: bool) -> None:
    """exact, glob, anchored regex and one_of, each on a plain string claim."""
    assert Condition.of("c", kind, values).holds({"c": value}) is expected


def test_dotted_claim_paths_reach_nested_and_flat_keys() -> None:
    """kubernetes.io.namespace finds both {"kubernetes.io": {"namespace"}} and a flat key."""
    cond = Condition.shorthand("kubernetes.io.namespace", "preview-*")
    assert cond.holds({"kubernetes.io": {"namespace": "preview-1"}})
    assert cond.holds({"kubernetes.io.namespace": "preview-1"})
    assert not cond.holds({"kubernetes": {"io": {"namespace": "other"}}})


def test_evaluate_explains_each_miss() -> None:
    """The trace names the absent claim, the non-matching value and the wrong issuer."""
    grant, trace = evaluate(RULES, ISS, {"repository": "acme/x"})
    assert grant is not None and grant.rule == "ci-any"
    assert trace[0].reasons == ("claim 'ref' is absent (wanted ref exact 'refs/heads/main')",)
    _, trace = evaluate(RULES, "https://other.example", {})
    assert all("issuer is" in t.reasons[0] for t in trace)


_GLOBBY = st.text(alphabet="ab:/-*?[]!.\n", max_size=12)


@given(pattern=_GLOBBY, value=_GLOBBY)
def test_glob_conditions_match_exactly_what_fnmatchcase_matches(pattern: str, value: str) -> None:
    """Globs are compiled once at load; they must keep fnmatch's meaning (case-sensitive,
    `*` across `/` and newlines, character classes)."""
    assert Condition.of("sub", "glob", [pattern]).test_value(value) == fnmatchcase(value, pattern)
