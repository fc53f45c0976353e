"""Prefilter helpers: the prefix patterns of generic rules and the placeholder step-run check."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanners import filters
from scanners.prefilter import prefix_pattern, wants_start
from scanners.rules import ALL_RULES, rules_by_id

LINES = [
    'db_password = "Tr0ub4dor!3x"',
    "DB_PASSWORD=Falcon#4821 next=1",
    '{"client_secret":"Zq8vLp2wXr9kQm4T","api_key":"Hb7Nc2Vx9LqR4sTz"}',
    "auth_token: Zq8v-Lp2w.Xr9kQm4T, token=abcDEF123456",
    "vault login --token=Zq8vLp2wXr9kQm4T --address x",
    "mysql -u root -pTr0ub4dor shop && sshpass -p 'Tr0ub4dor' ssh h",
    "<config><apiKey>Zq8vLp2wXr9kQm4T</apiKey></config>",
]


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if wants_start(r)], ids=lambda r: r.id)
def test_every_match_begins_with_a_prefix_match(rule: object) -> None:
    """A generic rule's prefix pattern matches at the start of every match of the full
    pattern, so a prefilter built from prefixes flags every line the rule can match."""
    prefix = prefix_pattern(rule.pattern)  # type: ignore[attr-defined]
    assert prefix is not None
    full, cut = re.compile(rule.pattern), re.compile(prefix)  # type: ignore[attr-defined]
    matched = 0
    for line in LINES:
        for match in full.finditer(line):
            matched += 1
            found = cut.match(line, match.start())
            assert found is not None and found.end() <= match.end()
    assert matched, "no sample line exercises this rule"


def test_prefix_pattern_cuts_only_a_trailing_value_repeat() -> None:
    """Patterns without a `secret` group ending in a counted repeat are left alone."""
    assert prefix_pattern(r"key=(?P<secret>[a-z]{4,12})x") == r"key=(?P<secret>[a-z]{4})"
    assert prefix_pattern(r"key=(?P<secret>(?:[a-z]{2}){3})") is None
    assert prefix_pattern(r"key=[a-z]{4,12}") is None
    assert prefix_pattern(r"k=(?P<secret>[)(\]]{3,9})") == r"k=(?P<secret>[)(\]]{3})"
    generic = rules_by_id()["generic-secret-quoted"].pattern
    assert prefix_pattern(generic) == generic[: generic.index("{6,256}")] + "{6})"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=300), max_size=40),
       st.integers(min_value=33, max_value=120), st.integers(min_value=0, max_value=8),
       st.booleans())
def test_step_run_check_matches_the_loop(noise: str, first: int, length: int, down: bool) -> None:
    """The loop-free step-run check agrees with the reference loop, runs up or down included."""
    run = "".join(chr(first + i) for i in range(length))
    value = noise[: len(noise) // 2] + (run[::-1] if down else run) + noise[len(noise) // 2 :]
    assert filters.has_step_run(value) == (filters._longest_step_run(value) >= 6)
