from __future__ import annotations

import pytest

from scanners.engine import Engine, max_width
from scanners.known import KnownValues
from scanners.rule import Rule
from scanners.rules import ALL_RULES
from tests.unit.scanners.ruleset import (
    GH_TOKEN,
    GITHUB,
    LOG,
    PASSWORD_VALUE,
    PEM,
    PEM_BLOCK,
    RULES,
    SLACK_TOKEN,
)


def found(engine: Engine, text: str) -> list[tuple[str, str]]:
    return [(s.rule, text[s.start : s.end]) for s in engine.find(text)]


def test_finds_each_secret_once_with_its_rule(engine: Engine) -> None:
    """A realistic log yields exactly its secrets, named by rule, decoys left alone."""
    assert found(engine, LOG) == [
        ("test-github-pat", GH_TOKEN),
        ("test-generic-password", PASSWORD_VALUE),
        ("test-slack-bot", SLACK_TOKEN),
        ("test-private-key", PEM_BLOCK.rstrip("\n")),
    ]


def test_backends_agree_on_the_same_text() -> None:
    """The hyperscan prefilter and the keyword fallback confirm the same spans."""
    text = LOG * 3 + "€ secret: Zq8v-Lp2w.Xr9k ünïcode " + GH_TOKEN + "\n"
    assert Engine(RULES, backend="hyperscan").find(text) == Engine(RULES, backend="python").find(text)


@pytest.mark.parametrize(
    "text",
    [
        "ghp_R3xT9qLm2VbN8cZk4WjH7pD1sF6gY0aE5uK",  # one character short
        "ghp_R3xT9qLm2VbN8cZk4WjH7pD1sF6gY0aE5uKiX",  # one too long: part of a bigger token
        "password = changeme",  # placeholder
        "password = aaaaaaaaaaaa",  # no variety
        "BEGIN RSA PRIVATE KEY (header only)",
    ],
)
def test_near_misses_are_not_findings(engine: Engine, text: str) -> None:
    """Near-miss tokens and placeholders are not reported."""
    assert engine.find(text + "\n") == []


def test_single_line_rules_never_span_lines(engine: Engine) -> None:
    """A key on one line and a value on the next is not one secret."""
    assert engine.find("password =\n" + PASSWORD_VALUE + "\n") == []


def test_offsets_are_exact_with_non_ascii_text(engine: Engine) -> None:
    """Spans are character offsets into the str, also after multi-byte characters."""
    text = "héllo wörld ✓ token " + GH_TOKEN + " ✓\nnext ✓ password=" + PASSWORD_VALUE
    assert found(engine, text) == [
        ("test-github-pat", GH_TOKEN),
        ("test-generic-password", PASSWORD_VALUE),
    ]


def test_known_values_join_the_same_pass(backend: str) -> None:
    """Registered values are found with the rules, in one call."""
    known = KnownValues()
    known.add("opaque-Val-9f3kQ2", source="TEST")
    engine = Engine(RULES, known, backend=backend)
    text = f"a=opaque-Val-9f3kQ2 b={GH_TOKEN}\n"
    assert found(engine, text) == [("known-value", "opaque-Val-9f3kQ2"), ("test-github-pat", GH_TOKEN)]


def test_generic_rule_yields_to_specific_rule(backend: str) -> None:
    """`secret=ghp_...` is one GitHub finding, not also a generic one."""
    engine = Engine(RULES, backend=backend)
    assert found(engine, f"secret={GH_TOKEN}\n") == [("test-github-pat", GH_TOKEN)]


def test_pattern_hyperscan_rejects_still_works(backend: str) -> None:
    """A pattern hyperscan cannot compile is left to the keyword prefilter, not dropped."""
    odd = Rule(id="odd", description="", pattern=r"zz(?P<secret>[a-f0-9]{12})\Z", keywords=("zz",))
    engine = Engine((odd, GITHUB), backend=backend)
    assert found(engine, "x zz0a1b2c3d4e5f") == [("odd", "0a1b2c3d4e5f")]


def test_widths_bound_the_window_overlap() -> None:
    """The redactor's overlap comes from the rules' longest possible secret."""
    assert max_width(GITHUB) == 4 + 36 + 1  # the token and the one character ending it
    assert max_width(PEM) <= 16384
    assert Engine(RULES, backend="python").max_line_secret >= max_width(GITHUB)


def test_catalogue_compiles_in_both_backends() -> None:
    """Every catalogue rule is usable by the engine (hyperscan or its fallback)."""
    hs = Engine(ALL_RULES, backend="hyperscan")
    py = Engine(ALL_RULES, backend="python")
    sample = LOG + "AKIAZ7VRSQ5TLPXN4B3M aws_secret_access_key=9dR2+vXk/Qp7LmN3sT8wYb1Hc5Fj0GzKe6AuIo4P\n"
    assert hs.find(sample) == py.find(sample)


@pytest.mark.parametrize("backend", ["hyperscan", "python"])
def test_pathological_values_finish(backend: str) -> None:
    """Long letter runs after key names (a classic regex-backtracking trap) are handled: this
    would run for hours with nested optional quantifiers in a filter; pytest-timeout guards."""
    engine = Engine(ALL_RULES, backend=backend)
    letters = "pLIixMEOLeMaEqJomTEIJEzOjoOjqWnRtYvBxKdLsPzXcVbNmQwErTyUiOpAsDfGhJk"
    text = "".join(f"{key}={letters}7\n{key}: '{letters[:40]}9'\n" for key in ("password", "token"))
    assert engine.find(text)  # high-entropy values after key names are secrets


@pytest.mark.parametrize("backend", ["hyperscan", "python"])
def test_clean_window_cache_keeps_key_name_context(backend: str) -> None:
    """A window remembered as clean under a metadata key (`next_page_token`) does not hide the
    same value under a real key whose name differs only before the match."""
    engine = Engine(ALL_RULES, backend=backend)
    value = "Qx7rT2mZk9LpW4vN8bYc"
    assert engine.find(f"next_page_token: {value}\n") == []
    assert [s.rule for s in engine.find(f"my_app_token: {value}\n")] == ["generic-secret-unquoted"]
