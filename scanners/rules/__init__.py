"""The explicit rule registry: every family module lists its rules in `RULES`.

Adding a family is one import and one entry in `_FAMILIES`; ids are checked for uniqueness
at import, so a clash fails loudly instead of one rule silently shadowing another.

Tags: every rule is either "provider" (a format of its own; plus the family, e.g. "aws", and
"context" when the value is only credible after a provider key name) or "generic" (a secret-
looking key name with a value of no particular format). Generic findings yield to provider
findings on overlapping spans, and only generic values pass the benign-value filters.
"""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules import (
    ai,
    aws,
    azure,
    ci,
    cloud_platforms,
    commerce,
    databases,
    devtools,
    gcp,
    generic,
    github,
    gitlab,
    hashicorp,
    hosting,
    identity,
    messaging,
    observability,
    payments,
    private_keys,
    registries,
    slack,
    tokens,
)

_FAMILIES: tuple[tuple[Rule, ...], ...] = (
    aws.RULES,
    gcp.RULES,
    azure.RULES,
    cloud_platforms.RULES,
    hosting.RULES,
    hashicorp.RULES,
    github.RULES,
    gitlab.RULES,
    ci.RULES,
    registries.RULES,
    payments.RULES,
    slack.RULES,
    messaging.RULES,
    ai.RULES,
    observability.RULES,
    devtools.RULES,
    commerce.RULES,
    identity.RULES,
    private_keys.RULES,
    tokens.RULES,
    databases.RULES,
    generic.RULES,
)

ALL_RULES: tuple[Rule, ...] = tuple(rule for family in _FAMILIES for rule in family)


def _check_unique(rules: tuple[Rule, ...]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ValueError(f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)


_check_unique(ALL_RULES)

_BY_ID: dict[str, Rule] = {rule.id: rule for rule in ALL_RULES}


def rules_by_id() -> dict[str, Rule]:
    return dict(_BY_ID)
