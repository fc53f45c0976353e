"""JWT and Authorization-header rules: structure-validated."""

from __future__ import annotations

import base64
import json

from tests.unit.scanners.rules.synth import URLSAFE, Case, b64url, check, params, synth


def jwt(header: dict[str, object], payload: dict[str, object], salt: str) -> str:
    return (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
            + "." + synth(URLSAFE, 43, salt))


JWT = jwt({"alg": "RS256", "typ": "JWT", "kid": "k1"},
          {"sub": "system:serviceaccount:ci:runner", "aud": "sluice", "exp": 1893456000}, "sig")
NO_ALG = jwt({"typ": "JWT"}, {"sub": "x", "exp": 1}, "sig2")
NOT_JSON = "eyJ" + synth(URLSAFE, 30, "nj1") + ".eyJ" + synth(URLSAFE, 30, "nj2") + "." + synth(
    URLSAFE, 43, "nj3")
BEARER = synth(URLSAFE + ".", 64, "bearer")
BASIC = base64.b64encode(b"deploy-bot:" + synth(URLSAFE, 18, "basicpw").encode()).decode()
NOT_BASIC = base64.b64encode(b"no separator here!").decode()
CURL_PW = synth(URLSAFE, 16, "curlpw")

CASES: list[Case] = [
    ("jwt", f"id_token={JWT}&state=xyz", JWT),
    ("jwt", f'{{"token": "{JWT}"}}', JWT),
    ("jwt", f"id_token={NO_ALG}", None),
    ("jwt", f"id_token={NOT_JSON}", None),
    ("jwt", ("id_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikp"
     "vaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"), None),
    ("authorization-bearer", f"Authorization: Bearer {BEARER}", BEARER),
    ("authorization-bearer", f"-H 'authorization: bearer {BEARER}'", BEARER),
    ("authorization-bearer", "Authorization: Bearer ${TOKEN}", None),
    ("authorization-bearer", "Authorization: Bearer <token>", None),
    ("authorization-bearer", f"X-Trace: Bearer {BEARER}", None),
    ("authorization-basic", f"Authorization: Basic {BASIC}", BASIC),
    ("authorization-basic", f'"Authorization": "Basic {BASIC}"', BASIC),
    ("authorization-basic", f"Authorization: Basic {NOT_BASIC}", None),
    ("authorization-basic", "Authorization: Basic realm=\"api\"", None),
    ("curl-user-password", f"curl -sS -u deploy:{CURL_PW} https://example.org/x", CURL_PW),
    ("curl-user-password", f"curl --user 'deploy:{CURL_PW}' https://example.org/x", CURL_PW),
    ("curl-user-password", "curl -u deploy:$DEPLOY_PASSWORD https://example.org/x", None),
    ("curl-user-password", f"wget --user deploy:{CURL_PW} https://example.org/x", None),
]


@params(CASES)
def test_token_rule(rule_id: str, line: str, secret: str | None) -> None:
    """JWTs and Authorization credentials are found only when structurally valid."""
    check(rule_id, line, secret)
