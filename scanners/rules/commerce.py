"""Commerce and business SaaS: Shopify, HubSpot, Zendesk, Intercom, shipping and travel APIs."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import keyed, prefixed

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_S = ("saas",)


def _shopify(kind: str, prefix: str, description: str) -> Rule:
    return prefixed(f"shopify-{kind}", description, prefix + r"[a-fA-F0-9]{32}", (prefix,),
                    tags=_S)


RULES: tuple[Rule, ...] = (
    _shopify("access-token", "shpat_", "Shopify Admin API access token"),
    _shopify("shared-secret", "shpss_", "Shopify app shared secret"),
    _shopify("custom-app-token", "shpca_", "Shopify custom app access token"),
    _shopify("private-app-token", "shppa_", "Shopify private app access token"),
    prefixed("hubspot-private-app-token", "HubSpot private app access token",
             rf"pat-(?:na|eu)[0-9]-{_UUID}", ("pat-na", "pat-eu"), tags=_S),
    keyed("zendesk-api-token", "Zendesk API token next to a Zendesk name",
          r"zendesk[_.-]?(?:api[_.-]?)?token", r"[A-Za-z0-9]{40}", ("zendesk",),
          min_entropy=4.0, tags=_S),
    keyed("intercom-access-token", "Intercom access token next to an Intercom name",
          r"intercom[_.-]?(?:access[_.-]?|api[_.-]?)?token", r"dG9rOj[A-Za-z0-9_=-]{40,60}",
          ("intercom",), tags=_S),
    prefixed("shippo-api-token", "Shippo live API token", r"shippo_live_[a-f0-9]{40}",
             ("shippo_live_",), tags=_S),
    prefixed("easypost-api-key", "EasyPost production API key", r"EZAK[a-z0-9]{54}",
             ("ezak",), tags=_S),
    prefixed("duffel-api-token", "Duffel API token", r"duffel_(?:test|live)_[A-Za-z0-9_-]{43}",
             ("duffel_",), tags=_S),
    keyed("lob-api-key", "Lob live API key next to a Lob name", r"lob[_.-]?(?:api[_.-]?)?key",
          r"live_[a-f0-9]{35}", ("lob",), tags=_S),
    keyed("sendbird-api-token", "Sendbird API token next to a Sendbird name",
          r"sendbird[_.-]?(?:api[_.-]?)?token", r"[a-f0-9]{40}", ("sendbird",), tags=_S),
    prefixed("facebook-access-token", "Facebook (Meta) Graph API access token",
             r"EAA[BCDGIJ][A-Za-z0-9]{100,300}", ("eaab", "eaac", "eaad", "eaag", "eaai", "eaaj"),
             min_entropy=4.0, tags=_S),
    keyed("facebook-app-secret", "Facebook app secret next to a Facebook name",
          r"(?:facebook|fb)[_.-]?(?:app[_.-]?|client[_.-]?)?secret", r"[a-f0-9]{32}",
          ("facebook", "fb_", "fb-", "fb.", "fbapp", "fbclient", "fbsecret"), tags=_S),
    prefixed("twitter-bearer-token", "Twitter/X app bearer token",
             r"AAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{60,120}", ("aaaaaaaaaaaaaaaaaaaaa",),
             skip_filters=True, min_entropy=3.0, tags=_S),
    keyed("twitter-api-secret", "Twitter/X API key secret next to a Twitter name",
          r"twitter[_.-]?(?:api[_.-]?|consumer[_.-]?)?(?:key[_.-]?)?secret"
          r"|x[_.-]api[_.-]?(?:key[_.-]?)?secret",
          r"[A-Za-z0-9]{50}", ("twitter", "x_api", "x-api", "x.api"), min_entropy=4.0, tags=_S),
)
