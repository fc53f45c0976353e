"""Generic key-name rules across syntaxes, with entropy, charset and benign-value filters."""

from __future__ import annotations

import pytest

from scanners.confirm import secret_spans
from scanners.rules import rules_by_id
from tests.unit.scanners.rules.synth import ALNUM, HEX, URLSAFE, Case, check, params, synth

PW = "Tr0ub4dor!3x"
TOKEN = synth(URLSAFE, 32, "generic-token")
UUID = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"

CASES: list[Case] = [
    ("generic-password-quoted", f'db_password = "{PW}"', PW),
    ("generic-password-quoted", f'"password": "{PW}",', PW),
    ("generic-password-quoted", f"  adminPassword: '{PW}'", PW),
    ("generic-password-quoted", f'PASSWORD := "{PW}"', PW),
    ("generic-password-quoted", '"password": "changeme"', None),
    ("generic-password-quoted", 'password = "${DB_PASSWORD}"', None),
    ("generic-password-quoted", f'password_hash = "{PW}"', None),
    ("generic-password-quoted", f'reset_password_token = "{TOKEN}"', None),
    ("generic-password-quoted", 'password = "password123"', None),
    ("generic-password-unquoted", f"DB_PASSWORD={PW}", PW),
    ("generic-password-unquoted", f"  password: {PW}", PW),
    ("generic-password-unquoted", f"spring.datasource.password={PW}", PW),
    ("generic-password-unquoted", f"login?user=bob&password={PW}&next=/", PW),
    ("generic-password-unquoted", "password = os.environ['DB_PASSWORD']", None),
    ("generic-password-unquoted", "password: {{ .Values.db.password }}", None),
    ("generic-password-unquoted", "PASSWORD=$DB_PASSWORD", None),
    ("generic-password-unquoted", "password = self.password", None),
    ("generic-password-unquoted", "password: ********", None),
    ("generic-password-unquoted", "password: <YOUR_PASSWORD>", None),
    ("generic-password-unquoted", "PASSWORD_FILE=/run/secrets/db", None),
    ("generic-password-unquoted", "password=/run/secrets/db_password", None),
    # Passwords people choose: a word, digits, a symbol or mixed case.
    ("generic-password-unquoted", "DB_PASSWORD: Falcon#4821", "Falcon#4821"),
    ("generic-password-unquoted", "password=Winter$55372Q", "Winter$55372Q"),
    ("generic-password-unquoted", "PASSWORD=Winter2023", "Winter2023"),
    ("generic-password-quoted", '"db_password":"Maple$8258"', "Maple$8258"),
    ("generic-password-unquoted", "password: PasswordPolicy", None),
    ("generic-password-unquoted", "password: secretName", None),
    ("generic-password-unquoted", "password = settings.DbPassword2", None),
    ("generic-password-unquoted", "password: Password1", None),
    ("generic-password-unquoted", "password: arn:aws:secretsmanager:us-east-1:482913576024:secret:db-Ab1", None),
    ("generic-secret-quoted", f'API_KEY = "{TOKEN}"', TOKEN),
    ("generic-secret-quoted", f'"client_secret": "{TOKEN}"', TOKEN),
    ("generic-secret-quoted", f"access_token: '{TOKEN}'", TOKEN),
    ("generic-secret-quoted", f'const apiKey = `{TOKEN}`;', TOKEN),
    ("generic-secret-quoted", f'"next_page_token": "{TOKEN}"', None),
    ("generic-secret-quoted", f'"public_key": "{TOKEN}"', None),
    ("generic-secret-quoted", f'"token": "{UUID}"', None),
    ("generic-secret-quoted", f'"api_key": "{synth(HEX, 40, "gsha")}"', None),
    ("generic-secret-quoted", '"token": "abcdefghijklmnopqrstuv"', None),
    ("generic-secret-quoted", '"secret": "my-kubernetes-secret-name"', None),
    ("generic-secret-quoted", f'"api_key": "YOUR_API_KEY_{TOKEN[:8]}"', None),
    ("generic-secret-unquoted", f"SECRET_KEY={TOKEN}", TOKEN),
    ("generic-secret-unquoted", f"auth_token: {TOKEN}", TOKEN),
    ("generic-secret-unquoted", f"[api]\napi_key = {TOKEN}", TOKEN),
    ("generic-secret-unquoted", "token_type=Bearer", None),
    ("generic-secret-unquoted", "SECRET_KEY=", None),
    ("generic-secret-unquoted", "max_tokens: 4096", None),
    ("generic-secret-unquoted", "secret: sha256:" + synth(HEX, 64, "digest"), None),
    ("generic-secret-unquoted", "token=AKIAIOSFODNN7EXAMPLE", None),
    # Structured identifiers: a secret word as one segment of an ARN, URN, path or
    # namespaced key is not an assignment.
    ("generic-secret-unquoted",
     '"secret_ref":"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"', None),
    ("generic-secret-unquoted",
     "SecretId: arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/Api-Key-x9Yz", None),
    ("generic-secret-unquoted",
     "secret: arn:aws:secretsmanager:eu-west-1:482913576024:secret:app/Api-Key-x9Yz", None),
    ("generic-secret-unquoted", "urn:example:secret:Abc123def456", None),
    ("generic-secret-unquoted", "cache key user:token:Ab12Cd34Ef", None),
    ("generic-secret-unquoted", "image: registry.local/acme/secret:Build42a", None),
    ("generic-secret-unquoted", "mount token:file:/var/run/Secret9/token", None),
    ("generic-secret-unquoted", "        secretKeyRef: {name: db-Creds2, key: password}", None),
    ("generic-secret-quoted", '"AWS::SecretsManager::Secret": "c85175a4ebcce361",', None),
    ("generic-secret-quoted", '"AWS::Route53::KeySigningKey": "a9a67ae6c371fcf4",', None),
    ("generic-secret-quoted", f'"Database:Password": "{PW}"', None),
    ("generic-password-quoted", f'"Database:Password": "{PW}"', PW),
    ("generic-cli-secret-flag", "aws acm request-certificate --idempotency-token 91adc45q", None),
    ("generic-cli-secret-flag", "aws dynamodb list-backups --starting-token abCDeFGhiJK1mn", None),
    ("generic-secret-quoted", '"ChangeToken": "12cs345-67cd-890b-1cd2-c3a4567d89f1"', None),
    ("generic-secret-quoted", 'ACL_CREDENTIALS = "Access-Control-Allow-Credentials"', None),
    ("generic-secret-unquoted", f"token:{TOKEN}", TOKEN),
    ("generic-secret-unquoted", f"X-Auth-Token: {TOKEN}", TOKEN),
    ("generic-secret-unquoted", f"client.secret:{TOKEN}", TOKEN),
    ("generic-secret-unquoted", f"login?next=/home&token={TOKEN}", TOKEN),
    ("generic-cli-secret-flag", f"vault login --token={TOKEN}", TOKEN),
    ("generic-cli-secret-flag", f"psql --password {PW} -h db", PW),
    ("generic-cli-secret-flag", f"tool --db-password '{PW}'", PW),
    ("generic-cli-secret-flag", "docker login --password-stdin", None),
    ("generic-cli-secret-flag", "tool --token $CI_TOKEN", None),
    ("generic-cli-secret-flag", "tool --token-file /run/token", None),
    ("generic-mysql-password-flag", f"mysql -u root -p{PW} shop", PW),
    ("generic-mysql-password-flag", "mysql -u root -p shop", None),
    ("generic-sshpass-password", f"sshpass -p '{PW}' ssh deploy@host", PW),
    ("generic-sshpass-password", "sshpass -p $SSHPASS ssh deploy@host", None),
    ("generic-xml-secret", f"<password>{PW}</password>", PW),
    ("generic-xml-secret", "<password>${env.DB_PASSWORD}</password>", None),
]


@params(CASES)
def test_generic_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Generic rules find assigned secrets and skip references, placeholders and benign data."""
    check(rule_id, line, secret)


@pytest.mark.parametrize("rule_id", ["generic-secret-quoted", "generic-secret-unquoted"])
def test_generic_secret_needs_mixed_charset(rule_id: str) -> None:
    """A long lowercase word string is not a token even under a secret key."""
    line = 'token = "correcthorsebatterystaple"' if "quoted" == rule_id[-6:] else \
        "token = correcthorsebatterystaple"
    assert secret_spans(rules_by_id()[rule_id], line) == []
    _ = ALNUM
