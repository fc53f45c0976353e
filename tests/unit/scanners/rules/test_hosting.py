"""Hosting-platform rules."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import (
    ALNUM,
    B64,
    HEX,
    LOWER_ALNUM,
    URLSAFE,
    Case,
    check,
    params,
    synth,
)

UUID = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"
HRKU = "HRKU-AA" + synth(URLSAFE, 58, "hrku")
FO1 = "fo1_" + synth(URLSAFE, 43, "fo1")
FM2 = "fm2_" + synth(B64, 300, "fm2") + "=="
VCP = "vcp_" + synth(ALNUM, 56, "vcp")
VERCEL = synth(ALNUM, 24, "vercel")
NFP = "nfp_" + synth(ALNUM, 36, "nfp")
RND = "rnd_" + synth(ALNUM, 32, "rnd")
SBP = "sbp_" + synth(HEX, 40, "sbp")
SB_SECRET = "sb_secret_" + synth(URLSAFE, 31, "sbsecret")
PSCALE_TKN = "pscale_tkn_" + synth(URLSAFE, 43, "pstkn")
PSCALE_PW = "pscale_pw_" + synth(URLSAFE, 43, "pspw")
PSCALE_OAUTH = "pscale_oauth_" + synth(URLSAFE, 43, "psoauth")
NAPI = "napi_" + synth(LOWER_ALNUM, 64, "napi")
CF_TOKEN = synth(URLSAFE, 40, "cftoken")
CF_KEY = synth(HEX, 37, "cfkey")
CF_ORIGIN = "v1.0-" + synth(HEX, 24, "cfo1") + "-" + synth(HEX, 146, "cfo2")

CASES: list[Case] = [
    ("heroku-api-key-v2", f"HEROKU_API_KEY={HRKU}", HRKU),
    ("heroku-api-key-v2", f"HEROKU_API_KEY=HRKU-AB{HRKU[7:]}", None),
    ("heroku-api-key", f"HEROKU_API_KEY={UUID}", UUID),
    ("heroku-api-key", f"HEROKU_APP_ID={UUID}", None),
    ("flyio-access-token", f"FLY_API_TOKEN={FO1}", FO1),
    ("flyio-access-token", f"FLY_API_TOKEN={FO1[:-3]}", None),
    ("flyio-macaroon-token", f"FLY_API_TOKEN=FlyV1 {FM2}", FM2),
    ("flyio-macaroon-token", "FLY_API_TOKEN=FlyV1 fm2_abc", None),
    ("vercel-token", f"VERCEL_TOKEN={VCP}", VCP),
    ("vercel-token", f"VERCEL_TOKEN=vcx_{VCP[4:]}", None),
    ("vercel-legacy-token", f"VERCEL_TOKEN={VERCEL}", VERCEL),
    ("vercel-legacy-token", f"VERCEL_PROJECT_ID={VERCEL}", None),
    ("netlify-access-token", f"NETLIFY_AUTH_TOKEN={NFP}", NFP),
    ("netlify-access-token", f"NETLIFY_AUTH_TOKEN={NFP[:-1]}", None),
    ("render-api-key", f"RENDER_API_KEY={RND}", RND),
    ("render-api-key", f"RENDER_API_KEY={RND}x", None),
    ("supabase-access-token", f"SUPABASE_ACCESS_TOKEN={SBP}", SBP),
    ("supabase-access-token", f"SUPABASE_ACCESS_TOKEN={SBP[:-2]}", None),
    ("supabase-secret-key", f"SUPABASE_SECRET_KEY={SB_SECRET}", SB_SECRET),
    ("supabase-secret-key", "SUPABASE_SECRET_KEY=sb_secret_...", None),
    ("planetscale-token", f"PLANETSCALE_SERVICE_TOKEN={PSCALE_TKN}", PSCALE_TKN),
    ("planetscale-token", f"PLANETSCALE_SERVICE_TOKEN={PSCALE_TKN[:-3]}", None),
    ("planetscale-password", f"DATABASE_PASSWORD={PSCALE_PW}", PSCALE_PW),
    ("planetscale-password", f"DATABASE_PASSWORD={PSCALE_PW[:-3]}", None),
    ("planetscale-oauth-token", f"token={PSCALE_OAUTH}", PSCALE_OAUTH),
    ("planetscale-oauth-token", "token=pscale_oauth_short", None),
    ("neon-api-key", f"NEON_API_KEY={NAPI}", NAPI),
    ("neon-api-key", f"NEON_API_KEY={NAPI.upper()}", None),
    ("cloudflare-api-token", f"CLOUDFLARE_API_TOKEN={CF_TOKEN}", CF_TOKEN),
    ("cloudflare-api-token", f"CLOUDFLARE_ZONE_ID={CF_TOKEN}", None),
    ("cloudflare-global-api-key", f"X-Auth-Key: {CF_KEY}", CF_KEY),
    ("cloudflare-global-api-key", f"X-Auth-Email: {CF_KEY}", None),
    ("cloudflare-origin-ca-key", f"X-Auth-User-Service-Key: {CF_ORIGIN}", CF_ORIGIN),
    ("cloudflare-origin-ca-key", f"X-Auth-User-Service-Key: {CF_ORIGIN[:100]}", None),
    ("railway-api-token", f"RAILWAY_API_TOKEN={UUID}", UUID),
    ("railway-api-token", f"RAILWAY_PROJECT_ID={UUID}", None),
]


@params(CASES)
def test_hosting_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each hosting-platform rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
