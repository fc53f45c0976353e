"""Google Cloud rules: prefixed keys and tokens, service-account key files."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import B64, HEX, URLSAFE, Case, check, params, synth

API_KEY = "AIza" + synth(URLSAFE, 35, "gcp-api")
CLIENT_SECRET = "GOCSPX-" + synth(URLSAFE, 28, "gocspx")
ACCESS = "ya29." + synth(URLSAFE, 120, "ya29")
REFRESH = "1//0" + synth(URLSAFE, 99, "refresh")
KEY_ID = synth(HEX, 40, "sa-key-id")
PEM = ("-----BEGIN PRIVATE KEY-----\\n" + "\\n".join(synth(B64, 64, f"sa{i}") for i in range(6))
       + "\\n-----END PRIVATE KEY-----\\n")
FCM = "AAAA" + synth(URLSAFE, 7, "fcm1") + ":APA91b" + synth(URLSAFE, 134, "fcm2")

CASES: list[Case] = [
    ("gcp-api-key", f"const key = '{API_KEY}';", API_KEY),
    ("gcp-api-key", f"https://maps.googleapis.com/maps/api/js?key={API_KEY}&cb=x", API_KEY),
    ("gcp-api-key", f"key = '{API_KEY[:-3]}'", None),
    ("gcp-api-key", "key = 'AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'", None),
    ("gcp-oauth-client-secret", f'"client_secret": "{CLIENT_SECRET}"', CLIENT_SECRET),
    ("gcp-oauth-client-secret", f'"client_secret": "GOCSPY-{CLIENT_SECRET[7:]}"', None),
    ("gcp-oauth-access-token", f"Authorization: Bearer {ACCESS}", ACCESS),
    ("gcp-oauth-access-token", "ya29.short", None),
    ("gcp-oauth-refresh-token", f'"refresh_token": "{REFRESH}"', REFRESH),
    ("gcp-oauth-refresh-token", "see https://example.org/1//0abc for details", None),
    ("gcp-service-account-key-id", f'  "private_key_id": "{KEY_ID}",', KEY_ID),
    ("gcp-service-account-key-id", f'  "private_key_id": "{KEY_ID[:32]}",', None),
    ("gcp-service-account-private-key", f'  "private_key": "{PEM}",', PEM),
    ("gcp-service-account-private-key",
     '  "private_key": "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n",', None),
    ("firebase-cloud-messaging-server-key", f"FCM_SERVER_KEY={FCM}", FCM),
    ("firebase-cloud-messaging-server-key", f"FCM_SERVER_KEY={FCM[:80]}", None),
]


@params(CASES)
def test_gcp_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each Google Cloud rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
