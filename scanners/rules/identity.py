"""Identity and consumer platforms: Okta, Auth0, Twitch, Dropbox, Clerk, Stytch, WorkOS."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import keyed, prefixed

_I = ("identity",)

RULES: tuple[Rule, ...] = (
    keyed("okta-api-token", "Okta API token next to an Okta name or SSWS scheme",
          r"okta[_.-]?(?:api[_.-]?)?token|authorization:\s{0,2}ssws", r"00[A-Za-z0-9_-]{40}",
          ("okta", "ssws"), min_entropy=4.0, tags=_I),
    keyed("auth0-client-secret", "Auth0 client secret next to an Auth0 name",
          r"auth0[_.-]?client[_.-]?secret", r"[A-Za-z0-9_-]{64}", ("auth0",), min_entropy=4.0,
          tags=_I),
    keyed("twitch-oauth-token", "Twitch client secret or OAuth token next to a Twitch name",
          r"twitch[_.-]?(?:client[_.-]?secret|(?:oauth[_.-]?|access[_.-]?)?token)",
          r"(?:oauth:)?[a-z0-9]{30}", ("twitch",), min_entropy=3.5, tags=_I),
    prefixed("dropbox-short-lived-token", "Dropbox short-lived access token",
             r"sl\.[A-Za-z0-9_-]{130,1400}", ("sl.",), min_entropy=4.0, tags=_I),
    keyed("dropbox-long-lived-token", "Dropbox long-lived token next to a Dropbox name",
          r"dropbox[_.-]?(?:access[_.-]?|api[_.-]?)?(?:token|key)",
          r"[A-Za-z0-9]{11}AAAAAAAAAA[A-Za-z0-9_=-]{43}", ("dropbox",),
          skip_filters=True, min_entropy=4.0, tags=_I),
    prefixed("clerk-secret-key", "Clerk secret key", r"sk_(?:live|test)_[A-Za-z0-9]{40,60}",
             ("sk_live_", "sk_test_"), start=r"(?i:clerk)[A-Za-z0-9_.-]{0,24}[\"']?\s{0,4}"
             r"[:=]\s{0,4}[\"']?", tags=_I),
    prefixed("stytch-secret", "Stytch project secret", r"secret-(?:live|test)-[A-Za-z0-9_=-]{36}",
             ("secret-live-", "secret-test-"), tags=_I),
    prefixed("workos-api-key", "WorkOS API key", r"sk_[A-Za-z0-9]{64,80}", ("workos",),
             start=r"(?i:workos)[A-Za-z0-9_.-]{0,24}[\"']?\s{0,4}[:=]\s{0,4}[\"']?", tags=_I),
)
