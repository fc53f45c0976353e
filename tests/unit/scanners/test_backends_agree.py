"""The hyperscan path narrows each regex search to the region its prefilter located; the
pure-Python path searches whole candidate lines. Both must confirm exactly the same spans."""

from __future__ import annotations

from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanners.engine import Engine
from scanners.rules import ALL_RULES
from tests.unit.scanners.samples import aws_key_id, aws_secret, github_pat, slack_webhook

FRAGMENTS = [
    "password", "PASSWORD", "token", "secret", "api_key", "auth", "=", ": ", '":"', '"', "'", " ",
    "\n", "-", "_", ".", "/", "é", "✓", "export ", "--password ", "Authorization: Bearer ",
    "postgresql://app:", "@db:5432/app", "Zq8vLp2wXr9kT4mN", "hunter2", "changeme", "${X}",
    "3f786850e387550fdab836ed7e6dc881de23001b", "AKIAIOSFODNN7EXAMPLE", "xoxb-", "ghp_",
    "aws_secret_access_key=", "VAULT_TOKEN=s.", "eyJhbGciOiJIUzI1NiJ9", "sk_live_",
]


@lru_cache(maxsize=1)
def engines() -> tuple[Engine, Engine, list[str]]:
    secrets = [github_pat(), aws_key_id(), aws_secret(), slack_webhook()]
    return Engine(ALL_RULES, backend="hyperscan"), Engine(ALL_RULES, backend="python"), secrets


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=st.lists(st.integers(min_value=0, max_value=len(FRAGMENTS) + 3), max_size=40))
def test_backends_confirm_the_same_spans(picks: list[int]) -> None:
    """Random mixes of key names, separators, real tokens and noise: same spans either way."""
    hs, py, secrets = engines()
    parts = FRAGMENTS + secrets
    text = "".join(parts[i] for i in picks)
    assert hs.find(text) == py.find(text)
