"""Claims -> grant: pure rule matching. The first rule that matches wins.

A rule names one issuer and a set of claim patterns; every pattern must match. Patterns are
shell globs (``fnmatch``, case-sensitive); a pattern without glob characters is an exact match.
A list-valued claim matches when any element matches. Claims are looked up at the top level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any


@dataclass(frozen=True)
class Rule:
    name: str
    issuer: str
    match: tuple[tuple[str, str], ...]  # (claim, pattern), all must match
    policies: tuple[str, ...]
    ttl_s: int
    no_default_policy: bool = True


@dataclass(frozen=True)
class Grant:
    rule: str
    policies: tuple[str, ...]
    ttl_s: int
    no_default_policy: bool


def claim_matches(value: Any, pattern: str) -> bool:
    if isinstance(value, list):
        return any(claim_matches(v, pattern) for v in value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, (int, float)):
        value = str(value)
    return isinstance(value, str) and fnmatchcase(value, pattern)


def rule_matches(rule: Rule, issuer: str, claims: Mapping[str, Any]) -> bool:
    if rule.issuer != issuer:
        return False
    return all(name in claims and claim_matches(claims[name], pat) for name, pat in rule.match)


def grant_for(rules: Sequence[Rule], issuer: str, claims: Mapping[str, Any]) -> Grant | None:
    for rule in rules:
        if rule_matches(rule, issuer, claims):
            return Grant(
                rule=rule.name,
                policies=rule.policies,
                ttl_s=rule.ttl_s,
                no_default_policy=rule.no_default_policy,
            )
    return None
