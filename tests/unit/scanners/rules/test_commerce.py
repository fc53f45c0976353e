"""Commerce and business SaaS rules."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import (
    ALNUM,
    HEX,
    LOWER_ALNUM,
    URLSAFE,
    Case,
    check,
    params,
    synth,
)

UUID = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"
SHPAT, SHPSS, SHPCA, SHPPA = (p + synth(HEX, 32, p) for p in ("shpat_", "shpss_", "shpca_",
                                                             "shppa_"))
ZENDESK = synth(ALNUM, 40, "zendesk")
INTERCOM = "dG9rOj" + synth(URLSAFE, 50, "intercom")
SHIPPO = "shippo_live_" + synth(HEX, 40, "shippo")
EZAK = "EZAK" + synth(LOWER_ALNUM, 54, "ezak")
DUFFEL = "duffel_live_" + synth(URLSAFE, 43, "duffel")
LOB = "live_" + synth(HEX, 35, "lob")
SENDBIRD = synth(HEX, 40, "sendbird")
FB = "EAAG" + synth(ALNUM, 180, "fb")
FB_SECRET = synth(HEX, 32, "fbsecret")
TWITTER = "AAAAAAAAAAAAAAAAAAAAA" + synth(ALNUM, 30, "tw1") + "%3D" + synth(ALNUM, 50, "tw2")
TW_SECRET = synth(ALNUM, 50, "twsecret")

CASES: list[Case] = [
    ("shopify-access-token", f"X-Shopify-Access-Token: {SHPAT}", SHPAT),
    ("shopify-access-token", f"X-Shopify-Access-Token: {SHPAT[:-1]}", None),
    ("shopify-shared-secret", f"SHOPIFY_API_SECRET={SHPSS}", SHPSS),
    ("shopify-shared-secret", f"SHOPIFY_API_SECRET=shpss_{'0' * 32}", None),
    ("shopify-custom-app-token", f"token: {SHPCA}", SHPCA),
    ("shopify-custom-app-token", f"token: {SHPCA}ff", None),
    ("shopify-private-app-token", f"password: {SHPPA}", SHPPA),
    ("shopify-private-app-token", "password: shppa_<private-app-password>", None),
    ("hubspot-private-app-token", f"HUBSPOT_TOKEN=pat-na1-{UUID}", f"pat-na1-{UUID}"),
    ("hubspot-private-app-token", f"HUBSPOT_TOKEN=pat-xx1-{UUID}", None),
    ("zendesk-api-token", f"ZENDESK_API_TOKEN={ZENDESK}", ZENDESK),
    ("zendesk-api-token", f"ZENDESK_SUBDOMAIN={ZENDESK}", None),
    ("intercom-access-token", f"INTERCOM_ACCESS_TOKEN={INTERCOM}", INTERCOM),
    ("intercom-access-token", f"INTERCOM_APP_ID={INTERCOM}", None),
    ("shippo-api-token", f"Authorization: ShippoToken {SHIPPO}", SHIPPO),
    ("shippo-api-token", f"Authorization: ShippoToken {SHIPPO[:-3]}", None),
    ("easypost-api-key", f"EASYPOST_API_KEY={EZAK}", EZAK),
    ("easypost-api-key", f"EASYPOST_API_KEY={EZAK[:-5]}", None),
    ("duffel-api-token", f"Authorization: Bearer {DUFFEL}", DUFFEL),
    ("duffel-api-token", "Authorization: Bearer duffel_live_...", None),
    ("lob-api-key", f"LOB_API_KEY={LOB}", LOB),
    ("lob-api-key", f"LOB_API_KEY=test_{LOB[5:]}", None),
    ("sendbird-api-token", f"SENDBIRD_API_TOKEN={SENDBIRD}", SENDBIRD),
    ("sendbird-api-token", f"SENDBIRD_APP_ID={SENDBIRD}", None),
    ("facebook-access-token", f"access_token={FB}", FB),
    ("facebook-access-token", f"access_token={FB[:60]}", None),
    ("facebook-app-secret", f"FACEBOOK_APP_SECRET={FB_SECRET}", FB_SECRET),
    ("facebook-app-secret", f"FACEBOOK_APP_ID={FB_SECRET}", None),
    ("twitter-bearer-token", f"TWITTER_BEARER_TOKEN={TWITTER}", TWITTER),
    ("twitter-bearer-token", "TWITTER_BEARER_TOKEN=AAAAAAAAAAAAAAAAAAAAA", None),
    ("twitter-api-secret", f"TWITTER_API_SECRET={TW_SECRET}", TW_SECRET),
    ("twitter-api-secret", f"TWITTER_API_KEY={TW_SECRET}", None),
]


@params(CASES)
def test_commerce_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each commerce/business SaaS rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
