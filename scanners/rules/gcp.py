"""Google Cloud and Firebase: API keys, OAuth secrets and tokens, service-account keys."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import prefixed

RULES: tuple[Rule, ...] = (
    prefixed("gcp-api-key", "Google API key", r"AIza[0-9A-Za-z_-]{35}", ("aiza",),
             tags=("gcp",)),
    prefixed("gcp-oauth-client-secret", "Google OAuth client secret",
             r"GOCSPX-[0-9A-Za-z_-]{28}", ("gocspx-",), tags=("gcp",)),
    prefixed("gcp-oauth-access-token", "Google OAuth access token",
             r"ya29\.[0-9A-Za-z_-]{30,2048}", ("ya29.",), min_entropy=3.5, tags=("gcp",)),
    prefixed("gcp-oauth-refresh-token", "Google OAuth refresh token",
             r"1//0[0-9A-Za-z_-]{40,512}", ("1//0",), start=r"(?:^|[^A-Za-z0-9/])",
             min_entropy=3.5, tags=("gcp",)),
    Rule(
        id="gcp-service-account-key-id",
        description="Google service-account key id in a key file",
        pattern=r'"private_key_id"\s{0,4}:\s{0,4}"(?P<secret>[0-9a-f]{40})"',
        keywords=("private_key_id",), tags=("provider", "gcp"),
    ),
    Rule(
        id="gcp-service-account-private-key",
        description="Google service-account private key (JSON-escaped PEM)",
        pattern=r'"private_key"\s{0,4}:\s{0,4}"(?P<secret>-----BEGIN PRIVATE KEY-----'
        r"(?:\\n)?[A-Za-z0-9+/=\\]{64,8000}-----END PRIVATE KEY-----(?:\\n)?)\"",
        keywords=("private_key",), skip_filters=True, tags=("provider", "gcp"),
    ),
    prefixed("firebase-cloud-messaging-server-key", "Firebase Cloud Messaging legacy server key",
             r"AAAA[0-9A-Za-z_-]{7}:APA91b[0-9A-Za-z_-]{134}", ("apa91b",), tags=("gcp",)),
)
