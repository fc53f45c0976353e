"""Identity-platform rules."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import (
    ALNUM,
    LOWER_ALNUM,
    URLSAFE,
    Case,
    check,
    params,
    synth,
)

OKTA = "00" + synth(URLSAFE, 40, "okta")
AUTH0 = synth(URLSAFE, 64, "auth0")
TWITCH = synth(LOWER_ALNUM, 30, "twitch")
SL = "sl." + synth(URLSAFE, 140, "dropbox")
DROPBOX_LONG = synth(ALNUM, 11, "dbx1") + "AAAAAAAAAA" + synth(URLSAFE, 43, "dbx2")
CLERK = "sk_live_" + synth(ALNUM, 50, "clerk")
STYTCH = "secret-live-" + synth(URLSAFE, 36, "stytch")
WORKOS = "sk_" + synth(ALNUM, 70, "workos")

CASES: list[Case] = [
    ("okta-api-token", f"Authorization: SSWS {OKTA}", OKTA),
    ("okta-api-token", f"OKTA_API_TOKEN={OKTA}", OKTA),
    ("okta-api-token", f"OKTA_CLIENT_ID={OKTA}", None),
    ("auth0-client-secret", f"AUTH0_CLIENT_SECRET={AUTH0}", AUTH0),
    ("auth0-client-secret", f"AUTH0_CLIENT_ID={AUTH0}", None),
    ("twitch-oauth-token", f"TWITCH_CLIENT_SECRET={TWITCH}", TWITCH),
    ("twitch-oauth-token", f"TWITCH_CLIENT_ID={TWITCH}", None),
    ("dropbox-short-lived-token", f"Authorization: Bearer {SL}", SL),
    ("dropbox-short-lived-token", "see sl.example for details", None),
    ("dropbox-long-lived-token", f"DROPBOX_ACCESS_TOKEN={DROPBOX_LONG}", DROPBOX_LONG),
    ("dropbox-long-lived-token", f"DROPBOX_APP_KEY={DROPBOX_LONG}", None),
    ("clerk-secret-key", f"CLERK_SECRET_KEY={CLERK}", CLERK),
    ("clerk-secret-key", f"CLERK_PUBLISHABLE_KEY=pk_live_{CLERK[8:]}", None),
    ("stytch-secret", f"STYTCH_SECRET={STYTCH}", STYTCH),
    ("stytch-secret", f"STYTCH_SECRET={STYTCH[:-6]}", None),
    ("workos-api-key", f"WORKOS_API_KEY={WORKOS}", WORKOS),
    ("workos-api-key", f"STRIPE_KEY={WORKOS}", None),
]


@params(CASES)
def test_identity_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each identity-platform rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
