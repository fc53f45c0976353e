"""Every rule pattern also compiles in hyperscan, the engine's one-pass prefilter."""

from __future__ import annotations

import re
from typing import Any

import pytest

from scanners.rule import Rule
from scanners.rules import ALL_RULES

hyperscan = pytest.importorskip("hyperscan")

# Rules whose exact pattern hyperscan refuses and which the engine must compile with
# HS_FLAG_PREFILTER (a superset match, then confirmed in Python). Keep this list short.
NEEDS_PREFILTER: frozenset[str] = frozenset()


_NAMED_GROUP = re.compile(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>")
_LONG_REPEAT = re.compile(r"\{(\d+),(\d+)\}")


def hyperscan_pattern(pattern: str) -> bytes:
    """As the engine compiles a rule: named groups non-capturing, long repeats opened up
    (`{64,12000}` -> `{64,}`; hyperscan unrolls counted repeats, and a superset is all a
    prefilter needs)."""
    pattern = _NAMED_GROUP.sub("(?:", pattern)
    return _LONG_REPEAT.sub(
        lambda m: m.group(0) if int(m.group(2)) <= 256 else f"{{{m.group(1)},}}", pattern
    ).encode()


def hyperscan_flags(rule: Rule) -> int:
    flags = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_MULTILINE
    if rule.ignore_case:
        flags |= hyperscan.HS_FLAG_CASELESS
    if rule.multiline:
        flags |= hyperscan.HS_FLAG_DOTALL
    return int(flags)


def compiles(rule: Rule, extra: int = 0) -> bool:
    db = hyperscan.Database()
    try:
        db.compile(expressions=[hyperscan_pattern(rule.pattern)], ids=[0], elements=1,
                   flags=[hyperscan_flags(rule) | extra])
    except hyperscan.error:
        return False
    return True


def _build(rules: list[Rule]) -> object:
    db = hyperscan.Database()
    db.compile(expressions=[hyperscan_pattern(r.pattern) for r in rules],
               ids=list(range(len(rules))), elements=len(rules),
               flags=[hyperscan_flags(r) for r in rules])
    return db


@pytest.fixture(scope="module")
def database() -> object:
    """The whole catalogue in one database, as the engine builds it (compiled once here)."""
    rules = [r for r in ALL_RULES if r.id not in NEEDS_PREFILTER]
    try:
        return _build(rules)
    except hyperscan.error:
        refused = [r.id for r in rules if not compiles(r)]
        pytest.fail(f"rules hyperscan refuses (add to NEEDS_PREFILTER or fix): {refused}")


def test_all_rules_compile_together(database: object) -> None:
    """Every rule compiles in exact mode except the listed ones, which need prefilter mode."""
    for rule in ALL_RULES:
        if rule.id in NEEDS_PREFILTER:
            assert not compiles(rule), f"{rule.id} no longer needs prefilter mode"
            assert compiles(rule, hyperscan.HS_FLAG_PREFILTER)


def _true_positive_lines() -> list[tuple[str, str]]:
    from tests.unit.scanners.rules.test_registry import ALL_CASES

    return [(rule_id, line) for rule_id, line, secret in ALL_CASES if secret is not None]


def _collect(id_: int, start: int, end: int, flags: int, hits: set[int]) -> None:
    hits.add(id_)


def test_prefilter_reports_every_true_positive(database: Any) -> None:
    """Hyperscan's widened patterns flag every true-positive example for its rule (no misses)."""
    rules = [r for r in ALL_RULES if r.id not in NEEDS_PREFILTER]
    index = {rule.id: n for n, rule in enumerate(rules)}
    db = database
    missed = []
    for rule_id, line in _true_positive_lines():
        if rule_id not in index:
            continue
        hits: set[int] = set()
        db.scan(line.encode(), match_event_handler=_collect, context=hits)
        if index[rule_id] not in hits:
            missed.append(rule_id)
    assert missed == []
