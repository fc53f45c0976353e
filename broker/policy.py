"""Claims -> grant: pure rule matching. Deny by default; the first rule that matches wins.

A rule names one issuer and a set of claim conditions; every condition must hold. A condition
looks a claim up by its dotted path (``kubernetes.io.namespace`` finds nested objects and flat
keys alike, see ``acl.claim_value``) and tests it one way:

- ``exact``: string equality (numbers compare by their JSON text, booleans as true/false);
- ``glob``: a shell glob (``fnmatch``, case-sensitive, ``*`` crosses ``/``);
- ``regex``: a regular expression that must match the *whole* value (anchored);
- ``one_of``: one of a list (each item exact, or a glob when it has glob characters).

A list-valued claim (``aud``, groups) matches when any element does; an absent claim, an
object or ``null`` never matches. Evaluation is fixed-order and side-effect free, so
:func:`evaluate` can tell an operator why each earlier rule did not match.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from broker.acl import AclTemplate, MissingClaim, claim_value

KINDS = ("exact", "glob", "regex", "one_of")
_GLOB_CHARS = re.compile(r"[*?\[]")
_SHOWN = 60


@dataclass(frozen=True)
class Condition:
    claim: str
    kind: str  # one of KINDS
    values: tuple[str, ...]  # one for exact/glob/regex, several for one_of
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, claim: str, kind: str, values: Sequence[str]) -> Condition:
        if kind not in KINDS or not values or (kind != "one_of" and len(values) != 1):
            raise ValueError(f"bad condition {kind!r} on {claim!r}")
        # Compiled once: globs as fnmatch's own translation (what fnmatchcase matches with).
        source = {"regex": values[0], "glob": fnmatch.translate(values[0])}.get(kind)
        compiled = re.compile(source) if source is not None else None
        return cls(claim, kind, tuple(values), compiled)

    @classmethod
    def shorthand(cls, claim: str, pattern: str) -> Condition:
        """A bare string: a glob when it has glob characters, else an exact value."""
        return cls.of(claim, "glob" if _GLOB_CHARS.search(pattern) else "exact", [pattern])

    def test_value(self, value: str) -> bool:
        if self.kind == "exact":
            return value == self.values[0]
        if self.kind == "glob":
            assert self.regex is not None
            return self.regex.match(value) is not None  # translate() anchors at the end
        if self.kind == "regex":
            assert self.regex is not None
            return self.regex.fullmatch(value) is not None
        # one_of: each listed value is exact, or a glob when it has glob characters.
        return any(
            v == value or (_GLOB_CHARS.search(v) and fnmatchcase(value, v)) for v in self.values
        )

    def holds(self, claims: Mapping[str, Any]) -> bool:
        try:
            value = claim_value(claims, self.claim)
        except MissingClaim:
            return False
        return any(self.test_value(v) for v in _texts(value))

    def describe(self) -> str:
        if self.kind == "one_of":
            return f"{self.claim} one of {list(self.values)!r}"
        return f"{self.claim} {self.kind} {self.values[0]!r}"


@dataclass(frozen=True)
class Rule:
    name: str
    issuer: str  # the issuer URL (config may name it by label)
    match: tuple[Condition, ...]
    policies: tuple[str, ...]  # existing OpenBao policies
    ttl_s: int
    no_default_policy: bool = True
    max_ttl_s: int | None = None  # explicit_max_ttl: the cap even across renewals
    renewable: bool = False
    num_uses: int = 0  # 0 = unlimited
    max_sessions_per_subject: int | None = None
    acl: AclTemplate | None = None  # per-session policy rendered from claims


@dataclass(frozen=True)
class Grant:
    rule: str
    policies: tuple[str, ...]
    ttl_s: int
    no_default_policy: bool
    max_ttl_s: int | None = None
    renewable: bool = False
    num_uses: int = 0
    max_sessions_per_subject: int | None = None
    acl: AclTemplate | None = None


@dataclass(frozen=True)
class RuleOutcome:
    """Why one rule did or did not match (for ``sluice broker explain``)."""

    rule: str
    matched: bool
    reasons: tuple[str, ...]


def claim_matches(value: Any, pattern: str) -> bool:
    """Shorthand matching of one claim value against a bare pattern (exact or glob)."""
    return Condition.shorthand("claim", pattern).holds({"claim": value})


def rule_matches(rule: Rule, issuer: str, claims: Mapping[str, Any]) -> bool:
    return rule.issuer == issuer and all(c.holds(claims) for c in rule.match)


def grant_of(rule: Rule) -> Grant:
    return Grant(
        rule=rule.name,
        policies=rule.policies,
        ttl_s=rule.ttl_s,
        no_default_policy=rule.no_default_policy,
        max_ttl_s=rule.max_ttl_s,
        renewable=rule.renewable,
        num_uses=rule.num_uses,
        max_sessions_per_subject=rule.max_sessions_per_subject,
        acl=rule.acl,
    )


def grant_for(rules: Sequence[Rule], issuer: str, claims: Mapping[str, Any]) -> Grant | None:
    for rule in rules:
        if rule_matches(rule, issuer, claims):
            return grant_of(rule)
    return None


def evaluate(
    rules: Sequence[Rule], issuer: str, claims: Mapping[str, Any]
) -> tuple[Grant | None, list[RuleOutcome]]:
    """Like :func:`grant_for`, with the outcome of every rule up to the first match."""
    trace: list[RuleOutcome] = []
    for rule in rules:
        reasons: list[str] = []
        if rule.issuer != issuer:
            reasons.append(f"issuer is {issuer!r}, the rule wants {rule.issuer!r}")
        else:
            for cond in rule.match:
                if not cond.holds(claims):
                    reasons.append(_why_not(cond, claims))
        trace.append(RuleOutcome(rule.name, not reasons, tuple(reasons)))
        if not reasons:
            return grant_of(rule), trace
    return None, trace


def _why_not(cond: Condition, claims: Mapping[str, Any]) -> str:
    try:
        value = claim_value(claims, cond.claim)
    except MissingClaim:
        return f"claim {cond.claim!r} is absent (wanted {cond.describe()})"
    shown = repr(value)
    if len(shown) > _SHOWN:
        shown = shown[:_SHOWN] + "..."
    return f"claim {cond.claim} = {shown} does not satisfy {cond.describe()}"


def _texts(value: Any) -> list[str]:
    """The string forms a claim value is compared by; objects and null have none."""
    if isinstance(value, list):
        return [t for item in value if not isinstance(item, list) for t in _texts(item)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int | float):
        return [str(value)]
    if isinstance(value, str):
        return [value]
    return []
