"""AWS rules: key ids anywhere, secret keys and session tokens only in context."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import B64, UPPER, Case, check, params, synth

KEY_ID = "AKIA" + synth(UPPER + "234567", 16, "aws-id")
TEMP_ID = "ASIA" + synth(UPPER + "234567", 16, "aws-tmp")
SECRET = synth(B64, 40, "aws-secret")
SESSION = "IQoJb3JpZ2luX2Vj" + synth(B64, 300, "aws-session")
BEDROCK = "ABSKQmVkcm9ja0FQSUtleS" + synth(B64, 120, "bedrock")
MWS = "amzn.mws.4ea38b7b-f563-7709-4bae-87aeaf2b8e0f"

CASES: list[Case] = [
    ("aws-access-key-id", f"aws_access_key_id = {KEY_ID}", KEY_ID),
    ("aws-access-key-id", f'{{"AccessKeyId": "{KEY_ID}"}}', KEY_ID),
    ("aws-access-key-id", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", None),
    ("aws-access-key-id", f"id=X{KEY_ID}", None),
    ("aws-access-key-id", f"id={KEY_ID[:-1]}", None),
    ("aws-temporary-access-key-id", f"AWS_ACCESS_KEY_ID={TEMP_ID}", TEMP_ID),
    ("aws-temporary-access-key-id", f"AWS_ACCESS_KEY_ID={TEMP_ID.lower()}", None),
    ("aws-secret-access-key", f"aws_secret_access_key = {SECRET}", SECRET),
    ("aws-secret-access-key", f'"SecretAccessKey": "{SECRET}",', SECRET),
    ("aws-secret-access-key", f"export AWS_SECRET_ACCESS_KEY='{SECRET}'", SECRET),
    ("aws-secret-access-key",
     "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None),
    ("aws-secret-access-key", f"checksum = {SECRET}", None),
    ("aws-secret-access-key", f"aws_secret_access_key = {SECRET}AB", None),
    ("aws-secret-access-key-pair", f"deploy,{KEY_ID},{SECRET}", SECRET),
    ("aws-secret-access-key-pair", f"deploy,{KEY_ID},{SECRET[:30]}", None),
    ("aws-session-token", f"aws_session_token = {SESSION}", SESSION),
    ("aws-session-token", f"aws_session_token = {SESSION[:80]}", None),
    ("aws-session-token-literal", f"token: {SESSION}", SESSION),
    ("aws-session-token-literal", f"token: IQoJb3JpZ2luX2Vj{SECRET}", None),
    ("aws-bedrock-api-key", f"AWS_BEARER_TOKEN_BEDROCK={BEDROCK}", BEDROCK),
    ("aws-bedrock-api-key", "AWS_BEARER_TOKEN_BEDROCK=ABSKQmVkcm9ja0FQSUtleS", None),
    ("aws-mws-auth-token", f"mws_auth_token: {MWS}", MWS),
    ("aws-mws-auth-token", "mws_auth_token: amzn.mws.4ea38b7b-f563-7709", None),
]


@params(CASES)
def test_aws_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each AWS rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
