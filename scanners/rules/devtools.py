"""Developer SaaS: Atlassian, Databricks, Linear, Notion, Postman, Figma, Contentful, ..."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import END_B64, keyed, prefixed
from scanners.structures import has_json_segment

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_D = ("saas",)

RULES: tuple[Rule, ...] = (
    prefixed("atlassian-api-token", "Atlassian (Jira/Confluence) API token",
             r"ATATT3[A-Za-z0-9_=-]{186}", ("atatt3",), tags=_D),
    prefixed("databricks-token", "Databricks personal access token",
             r"dapi[a-f0-9]{32}(?:-[0-9])?", ("dapi",), tags=_D),
    prefixed("linear-api-key", "Linear API key", r"lin_api_[A-Za-z0-9]{40}", ("lin_api_",),
             tags=_D),
    prefixed("notion-integration-token", "Notion integration token (ntn_)",
             r"ntn_[0-9]{11}[A-Za-z0-9]{35}", ("ntn_",), tags=_D),
    keyed("notion-legacy-token", "Notion integration secret (secret_) next to a Notion name",
          r"notion[_.-]?(?:api[_.-]?|integration[_.-]?)?(?:key|token|secret)",
          r"secret_[A-Za-z0-9]{43}", ("notion",), tags=_D),
    prefixed("postman-api-key", "Postman API key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}",
             ("pmak-",), tags=_D),
    prefixed("figma-access-token", "Figma personal access token",
             r"figd_[A-Za-z0-9_-]{40}", ("figd_",), tags=_D),
    prefixed("asana-access-token", "Asana personal access token",
             r"[0-9]/[0-9]{13,19}(?:/[0-9]{13,19})?:[a-f0-9]{32}", ("asana",),
             start=r"(?i:asana)[A-Za-z0-9_.-]{0,24}[\"']?\s{0,4}[:=]\s{0,4}[\"']?", tags=_D),
    prefixed("airtable-personal-access-token", "Airtable personal access token",
             r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}", ("pat",), tags=_D),
    prefixed("contentful-personal-access-token", "Contentful personal access token",
             r"CFPAT-[A-Za-z0-9_-]{43}", ("cfpat-",), tags=_D),
    keyed("algolia-admin-key", "Algolia admin API key next to an Algolia name",
          r"algolia[_.-]?(?:admin[_.-]?|write[_.-]?)?(?:api[_.-]?)?key|x-algolia-api-key",
          r"[a-f0-9]{32}", ("algolia",), tags=_D),
    prefixed("mapbox-secret-token", "Mapbox secret access token",
             r"sk\.eyJ1Ijoi[A-Za-z0-9_-]{20,200}\.[A-Za-z0-9_-]{22}", ("sk.eyj1ijoi",),
             validate=lambda t: has_json_segment(t, 1, "u"), tags=_D),
    prefixed("sourcegraph-access-token", "Sourcegraph access token",
             r"sgp_(?:[a-f0-9]{16}_)?[a-f0-9]{40}", ("sgp_",), tags=_D),
    prefixed("tailscale-key", "Tailscale auth, API, OAuth client or webhook key",
             r"tskey-(?:auth|api|client|webhook|scim)-[A-Za-z0-9]{10,20}-[A-Za-z0-9]{20,40}",
             ("tskey-",), tags=_D),
    keyed("ngrok-authtoken", "ngrok authtoken next to an ngrok name",
          r"ngrok[_.-]?(?:auth[_.-]?token|api[_.-]?key)|authtoken",
          r"[0-9A-Za-z]{27}_[0-9A-Za-z]{21}", ("ngrok", "authtoken"), tags=_D),
    prefixed("prefect-api-key", "Prefect Cloud API key", r"pnu_[A-Za-z0-9]{36}", ("pnu_",),
             tags=_D),
    prefixed("readme-api-key", "ReadMe API key", r"rdme_[a-z0-9]{70}", ("rdme_",), tags=_D),
    keyed("launchdarkly-access-token", "LaunchDarkly access token or SDK key",
          r"launch_?darkly[_.-]?(?:access[_.-]?|api[_.-]?|sdk[_.-]?)?(?:token|key)",
          rf"(?:api|sdk)-{_UUID}", ("launchdarkly", "launch_darkly"), tags=_D),
    prefixed("typeform-access-token", "Typeform personal access token",
             r"tfp_[A-Za-z0-9_.=-]{56,64}", ("tfp_",), end=END_B64, tags=_D),
    prefixed("frameio-token", "Frame.io developer token", r"fio-u-[A-Za-z0-9_=-]{64}",
             ("fio-u-",), tags=_D),
)
