"""Hosting and edge platforms: Heroku, Fly.io, Vercel, Netlify, Render, Supabase, Cloudflare..."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import END_B64, keyed, prefixed

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_H = ("hosting",)

RULES: tuple[Rule, ...] = (
    prefixed("heroku-api-key-v2", "Heroku API key (HRKU- format)", r"HRKU-AA[0-9A-Za-z_-]{58}",
             ("hrku-",), tags=_H),
    keyed("heroku-api-key", "Heroku API key (UUID) next to a Heroku key name",
          r"heroku[_.-]?(?:api[_.-]?)?(?:key|token)", _UUID, ("heroku",), tags=_H),
    prefixed("flyio-access-token", "Fly.io access token", r"fo1_[A-Za-z0-9_-]{43}", ("fo1_",),
             tags=_H),
    prefixed("flyio-macaroon-token", "Fly.io macaroon token (FlyV1 fm2_)",
             r"fm[12][ar]?_[A-Za-z0-9+/]{100,2000}={0,3}", ("fm1_", "fm2_", "fm1a_", "fm1r_"),
             end=END_B64, tags=_H),
    prefixed("vercel-token", "Vercel access token (prefixed format)",
             r"vc[pikar]_[A-Za-z0-9]{56}", ("vcp_", "vci_", "vck_", "vca_", "vcr_"), tags=_H),
    keyed("vercel-legacy-token", "Vercel access token next to its key name",
          r"vercel[_.-]?(?:api[_.-]?|access[_.-]?)?token", r"[A-Za-z0-9]{24}", ("vercel",),
          min_entropy=3.5, tags=_H),
    prefixed("netlify-access-token", "Netlify personal access token", r"nfp_[A-Za-z0-9]{36}",
             ("nfp_",), tags=_H),
    prefixed("render-api-key", "Render API key", r"rnd_[A-Za-z0-9]{32}", ("rnd_",), tags=_H),
    prefixed("supabase-access-token", "Supabase personal access token", r"sbp_[a-f0-9]{40}",
             ("sbp_",), tags=_H),
    prefixed("supabase-secret-key", "Supabase secret API key",
             r"sb_secret_[A-Za-z0-9_-]{31,40}", ("sb_secret_",), tags=_H),
    prefixed("planetscale-token", "PlanetScale service token",
             r"pscale_tkn_[A-Za-z0-9_.-]{43}", ("pscale_tkn_",), tags=_H),
    prefixed("planetscale-password", "PlanetScale database password",
             r"pscale_pw_[A-Za-z0-9_.-]{43}", ("pscale_pw_",), tags=_H),
    prefixed("planetscale-oauth-token", "PlanetScale OAuth token",
             r"pscale_oauth_[A-Za-z0-9_.-]{32,64}", ("pscale_oauth_",), tags=_H),
    prefixed("neon-api-key", "Neon API key", r"napi_[a-z0-9]{64}", ("napi_",), tags=_H),
    keyed("cloudflare-api-token", "Cloudflare API token next to a Cloudflare key name",
          r"cloudflare[_.-]?(?:api[_.-]?)?token|cf[_.-]?api[_.-]?token", r"[A-Za-z0-9_-]{40}",
          ("cloudflare", "cf_api", "cf-api", "cfapi", "cf.api"), min_entropy=3.5, tags=_H),
    keyed("cloudflare-global-api-key", "Cloudflare global API key next to its key name",
          r"cloudflare[_.-]?(?:global[_.-]?)?(?:api[_.-]?)?key|x-auth-key|cf[_.-]?api[_.-]?key",
          r"[a-f0-9]{37}", ("cloudflare", "x-auth-key", "cf_api", "cf-api", "cfapi", "cf.api"),
          tags=_H),
    prefixed("cloudflare-origin-ca-key", "Cloudflare Origin CA key",
             r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}", ("v1.0-",), tags=_H),
    prefixed("railway-api-token", "Railway API token next to its key name",
             _UUID, ("railway",),
             start=r"(?i:railway[_.-]?(?:api[_.-]?)?token)[\"']?\s{0,4}[:=]\s{0,4}[\"']?",
             tags=_H),
)
