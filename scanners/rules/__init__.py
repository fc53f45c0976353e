"""The explicit rule registry: every family module lists its rules in `RULES`."""

from __future__ import annotations

from scanners.rule import Rule

# Family modules are added here explicitly, one import per provider family.
_FAMILIES: tuple[tuple[Rule, ...], ...] = ()

ALL_RULES: tuple[Rule, ...] = tuple(rule for family in _FAMILIES for rule in family)


def rules_by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in ALL_RULES}
