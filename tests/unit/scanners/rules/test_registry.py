"""The rule registry: size, unique ids, patterns that compile in both engines, full coverage."""

from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType

import pytest

import tests.unit.scanners.rules as rule_tests
from scanners.confirm import compiled
from scanners.rules import ALL_RULES, rules_by_id
from tests.unit.scanners.rules.synth import Case, keyword_in_match

MIN_PROVIDER_RULES = 150


def _family_test_modules() -> list[ModuleType]:
    names = sorted(m.name for m in pkgutil.iter_modules(rule_tests.__path__)
                   if m.name.startswith("test_") and m.name != "test_registry")
    return [importlib.import_module(f"{rule_tests.__name__}.{name}") for name in names]


def _all_cases() -> list[Case]:
    return [case for module in _family_test_modules() for case in getattr(module, "CASES", [])]


ALL_CASES = _all_cases()


def test_enough_provider_rules() -> None:
    """The catalogue holds at least 150 provider-specific rules."""
    provider = [r for r in ALL_RULES if "generic" not in r.tags]
    assert len(provider) >= MIN_PROVIDER_RULES


def test_ids_unique_and_stable_shape() -> None:
    """Rule ids are unique, lowercase and dash-separated."""
    ids = [r.id for r in ALL_RULES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", i) for i in ids)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_pattern_compiles_and_keywords_lowercase(rule: object) -> None:
    """Every pattern compiles in Python `re`; keywords are non-empty lowercase literals."""
    from scanners.rule import Rule

    assert isinstance(rule, Rule)
    compiled(rule)
    assert rule.keywords and all(k == k.lower() and k for k in rule.keywords)
    assert rule.tags, "rules carry tags: 'provider' or 'generic' plus the family"


def test_every_rule_has_true_and_false_positive_cases() -> None:
    """A rule without a true-positive and a near-miss example in the tables fails here."""
    tp = {rule_id for rule_id, _, secret in ALL_CASES if secret is not None}
    fp = {rule_id for rule_id, _, secret in ALL_CASES if secret is None}
    known = set(rules_by_id())
    assert {rule_id for rule_id, _, _ in ALL_CASES} <= known, "cases name unknown rules"
    assert sorted(known - tp) == [], "rules without a true-positive case"
    assert sorted(known - fp) == [], "rules without a near-miss case"


@pytest.mark.parametrize(
    ("rule_id", "line"),
    [(rule_id, line) for rule_id, line, secret in ALL_CASES if secret is not None],
)
def test_keyword_present_in_every_true_positive_match(rule_id: str, line: str) -> None:
    """The keyword prefilter would let every true positive through: a keyword is in the match."""
    assert keyword_in_match(rule_id, line)
