"""No rule fires on the everyday noise of logs, configs and code that holds no secret."""

from __future__ import annotations

import pytest

from scanners.confirm import secret_spans
from scanners.rules import ALL_RULES

NOISE: list[str] = [
    "2026-11-24T01:26:37.123Z INFO request_id=1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b status=200",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b (HEAD -> main, origin/main)",
    "Merge: 9fceb02 d4e8a1c",
    ("image: ghcr.io/acme/api@sha256:"
    "5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"),
    "Digest: sha256:9a1e2c7f04d3b8e66a2f1bb0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0",
    'etag: "33a64df551425fcc55e4d42a148795d9f25f89d4"',
    "password: ${DB_PASSWORD}",
    "password: {{ .Values.postgresql.auth.password }}",
    "api_key: <YOUR_API_KEY>",
    "token: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "secret_key: changeme",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "password = os.environ['DB_PASSWORD']",
    'token = request.headers.get("Authorization")',
    "const password = process.env.DB_PASSWORD;",
    "secretName: postgres-credentials",
    "valueFrom: {secretKeyRef: {name: db, key: password}}",
    "  File \"/app/server.py\", line 42, in handle_token",
    "KeyError: 'access_token'",
    "tokens processed: 18234, tokens/s: 5512.3",
    "max_tokens: 4096",
    "token_type: Bearer",
    "expires_in: 3600",
    "password_min_length: 12",
    "Authorization: Bearer ${GITHUB_TOKEN}",
    "Authorization: Basic realm=\"Restricted\"",
    "curl -H 'Authorization: Bearer $TOKEN' https://api.example.com/v1/items",
    "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app",
    "redis://localhost:6379/0",
    "https://github.com/acme/api/blob/main/README.md#install",
    "Downloading https://files.pythonhosted.org/packages/ab/cd/pkg-1.2.3-py3-none-any.whl",
    ("data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA"),
    "Successfully installed hvac-2.4.0 aiohttp-3.14.0 pyjwt-2.15.0",
    "-----BEGIN PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
    "private_key_path: /etc/ssl/private/server.key",
    "PASSWORD_FILE=/run/secrets/db_password",
    "secret: my-app-tls",
    "docker login --username bot --password-stdin",
    "ERROR invalid password for user \"app\"",
    "hash = bcrypt.hashpw(password, bcrypt.gensalt())",
    "$2b$12$KIXQJj8Q1lH8yW8L6o8ZUe0lq1bA1N8wY6KQp5Xo8t0r2k4sY3b2C",
    "session_id=5f4dcc3b5aa765d61d8327deb882cf99; Path=/; HttpOnly",
    "X-Request-Id: 0f8fad5b-d9cb-469f-a165-70867728950e",
    "github_token: ${{ secrets.GITHUB_TOKEN }}",
    "ghp_ tokens start with a prefix; see docs",
    "client_id: 1234567890-abc123def456.apps.googleusercontent.com",
    "node_id=MDQ6VXNlcjE= login=octocat",
    "Running 1555 tests with pytest-9.0.0 in 15.30s",
    "Step 4/12 : RUN pip install -r requirements.txt",
    "sk_test_ keys are for testing",
    "<password></password>",
    "export VAULT_TOKEN=$(cat /run/secrets/vault-token)",
    "vault token lookup -format=json",
    "signature=3f786850e387550fdab836ed7e6dc881de23001b",
    "uuid: 123e4567-e89b-12d3-a456-426614174000",
    "auth: required",
    "secret: true",
    "token_endpoint: https://oauth2.googleapis.com/token",
    "Password: OK",
    "password: changed successfully for user alice",
    "userdata.password = password_ptr",
    "private_key: Ed25519PrivateKey | Ed448PrivateKey",
    "auth: _t.AuthType",
    "password: !vault |",
    '"msg":"login failed","reason":"password_mismatch","user":"alice"',
    "Set-Cookie: csrftoken=Xk2pQ9vL0aZ8mN3bR7tY1cW5; Path=/",
    '"next_page_token": "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA2",',
    "tool --token-file /var/run/secrets/token",
]


@pytest.mark.parametrize("line", NOISE)
def test_no_rule_fires_on_noise(line: str) -> None:
    """Everyday non-secret lines produce no finding from any rule."""
    fired = [rule.id for rule in ALL_RULES if secret_spans(rule, line)]
    assert fired == []
