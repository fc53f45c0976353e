"""Placeholder and benign-value filters, and how the confirm stage applies them."""

from __future__ import annotations

import pytest

from scanners import filters
from scanners.confirm import secret_spans
from scanners.rule import Rule
from tests.unit.scanners.rules.synth import ALNUM, B64, HEX, URLSAFE, synth

RANDOM_TOKENS = [synth(cs, n, f"tok{n}{i}") for i, (cs, n) in
                 enumerate([(ALNUM, 20), (ALNUM, 36), (URLSAFE, 43), (B64, 40), (HEX, 32),
                            (HEX, 64), (ALNUM, 64), (URLSAFE, 128)])]


@pytest.mark.parametrize("value", [
    "${DB_PASSWORD}", "{{ .Values.db.password }}", "$(cat /run/secret)", "%(password)s",
    "#{secret}", "<YOUR_API_KEY>", "$DB_PASSWORD", "%APPDATA%", "[REDACTED]",
    "your_api_key_here", "YOUR-TOKEN", "changeme", "change_me", "replace-me", "example-token",
    "PLACEHOLDER", "xxxxxxxxxxxxxxxx", "XXXX-XXXX-XXXX", "********", "sk_live_...",
    "aaaaaaaaaaaa", "000000000000", "1234567890", "abcdefghij", "abababababab", "qwerty123",
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "dummy-secret",
    "fake_token_for_tests", "not-a-real-key", "AKIA1234EXAMPLE5678",
    "{password}", "{self.token!r}", "{creds[db]}", "shppa_<private-app-password>",
])
def test_placeholders_recognised(value: str) -> None:
    """Template variables, instructions, masks and documented examples are placeholders."""
    assert filters.is_placeholder(value)


@pytest.mark.parametrize("value", RANDOM_TOKENS + ["{Xq9rT2mZk9Lp}x", "a<b>c9Qz"])
def test_random_tokens_are_not_placeholders(value: str) -> None:
    """Random tokens of the usual alphabets and lengths pass the placeholder filter."""
    assert not filters.is_placeholder(value)


@pytest.mark.parametrize("value", [
    "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b", "3f786850e387550fdab836ed7e6dc881de23001b",
    "5f4dcc3b5aa765d61d8327deb882cf99", "sha256:" + "ab" * 32,
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "/etc/ssl/private/server.key", "./secrets/token.txt", "C:\\keys\\app.pfx", "server.pem",
    "https://vault.internal:8200/v1/auth", "true", "None", "required", "password1",
    "my_kubernetes_secret", "settings.SECRET_KEY", "Ed25519PrivateKey", "_t.AuthType",
    "os.getenv(", "process.env.TOKEN", "12345", "1.2.3", "v2.15.0", "2026-11-24",
    "$scope", "$.data.token", "allowed-", "bench_", "HTTPPasswordMgr", "arn:aws:secretsmanager:eu-west-1:482913576024:secret:db-Ab1",
    "urn:ietf:params:oauth:token-type:jwt",
])
def test_benign_values_recognised(value: str) -> None:
    """Digests, UUIDs, paths, URLs, words, code names and versions are benign for generic rules."""
    assert filters.is_benign(value)


@pytest.mark.parametrize("value", RANDOM_TOKENS[:4] + ["Tr0ub4dor!3x", "hunter2-Xq9"])
def test_secrets_are_not_benign(value: str) -> None:
    """Random tokens and real-looking passwords are not mistaken for benign data."""
    assert not filters.is_benign(value)


@pytest.mark.parametrize("value", ["Winter$55372Q", "Falcon#4821", "Winter2023", "Maple@2024x", "!cw4TbsDT1HS6lc!sA"])
def test_chosen_passwords_kept_under_password_keys(value: str) -> None:
    """Passwords people choose are not benign under a password key."""
    assert filters.is_chosen_password(value)
    assert not filters.is_benign_password(value)


@pytest.mark.parametrize("value", ["PasswordPolicy", "secretName", "settings.DbPassword2",
                                   "Password1", "DB_PASSWORD_2", "/run/secrets/Db2"])
def test_names_stay_benign_under_password_keys(value: str) -> None:
    """Names, attribute paths, common passwords and paths stay benign under a password key."""
    assert filters.is_benign_password(value)


def _rule(**options: object) -> Rule:
    return Rule(id="t", description="t", pattern=r"key=(?P<secret>\S+)", keywords=("key=",),
                **options)  # type: ignore[arg-type]


def test_confirm_applies_placeholder_filter_unless_skipped() -> None:
    """A placeholder is dropped, unless the rule opts out with skip_filters."""
    line = "key=xxxxxxxxxxxx"
    assert secret_spans(_rule(), line) == []
    assert secret_spans(_rule(skip_filters=True), line) == [(4, 16)]


def test_confirm_applies_benign_filter_only_to_generic_rules() -> None:
    """A UUID is a finding for a provider rule but benign under a generic key name."""
    line = "key=1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"
    assert secret_spans(_rule(tags=("provider",)), line) == [(4, len(line))]
    assert secret_spans(_rule(tags=("generic",)), line) == []


def test_confirm_entropy_validator_and_match_check() -> None:
    """Entropy floor, value validator and whole-match validator each veto a candidate."""
    line = f"key={RANDOM_TOKENS[1]}"
    assert secret_spans(_rule(min_entropy=6.0), line) == []
    assert secret_spans(_rule(validate=lambda v: False), line) == []
    assert secret_spans(_rule(validate_match=lambda m: m.start() > 0), line) == []
    assert secret_spans(_rule(min_entropy=3.0), line) == [(4, len(line))]


def test_confirm_drops_candidates_on_excluded_spans() -> None:
    """A candidate overlapping an excluded span (a specific rule's finding) is dropped; others
    on the same line are kept."""
    line = f"key={RANDOM_TOKENS[0]} key={RANDOM_TOKENS[1]}"
    both = secret_spans(_rule(), line)
    assert len(both) == 2
    assert secret_spans(_rule(), line, exclude=[(both[0][0] + 3, both[0][0] + 5)]) == both[1:]
