"""Payment-provider rules."""

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

SK = "sk_live_" + synth(ALNUM, 99, "sk")
RK = "rk_live_" + synth(ALNUM, 24, "rk")
SKT = "sk_test_" + synth(ALNUM, 24, "skt")
WHSEC = "whsec_" + synth(ALNUM, 32, "whsec")
SQATP = "sq0atp-" + synth(URLSAFE, 22, "sqatp")
SQCSP = "sq0csp-" + synth(URLSAFE, 43, "sqcsp")
EAAA = "EAAA" + synth(URLSAFE, 60, "eaaa")
BT = f"access_token$production${synth(LOWER_ALNUM, 16, 'bt1')}${synth(HEX, 32, 'bt2')}"
BTS = f"access_token$sandbox${synth(LOWER_ALNUM, 16, 'bts1')}${synth(HEX, 32, 'bts2')}"
PAYPAL = synth(URLSAFE, 80, "paypal")
PLAID = "access-production-1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"
PLAID_SECRET = synth(HEX, 30, "plaid")
FLW = "FLWSECK-" + synth(HEX, 32, "flw") + "-X"
GOCARDLESS = "live_" + synth(URLSAFE, 40, "gocardless")
RAZORPAY = synth(ALNUM, 24, "razorpay")

CASES: list[Case] = [
    ("stripe-secret-key", f"Stripe.api_key = '{SK}'", SK),
    ("stripe-secret-key", "Stripe.api_key = 'sk_live_shortkey'", None),
    ("stripe-secret-key", f"Stripe.api_key = 'pk_live_{SK[8:]}'", None),
    ("stripe-restricted-key", f"STRIPE_KEY={RK}", RK),
    ("stripe-restricted-key", f"STRIPE_KEY=rk_lives_{RK[8:]}", None),
    ("stripe-test-secret-key", f"STRIPE_SECRET_KEY={SKT}", SKT),
    ("stripe-test-secret-key", "STRIPE_SECRET_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc", None),
    ("stripe-webhook-secret", f"STRIPE_WEBHOOK_SECRET={WHSEC}", WHSEC),
    ("stripe-webhook-secret", "STRIPE_WEBHOOK_SECRET=whsec_...", None),
    ("square-access-token", f"SQUARE_TOKEN={SQATP}", SQATP),
    ("square-access-token", f"SQUARE_TOKEN={SQATP[:-3]}", None),
    ("square-oauth-secret", f"application_secret: {SQCSP}", SQCSP),
    ("square-oauth-secret", f"application_secret: {SQCSP[:-1]}", None),
    ("square-production-access-token", f"Authorization: Bearer {EAAA}", EAAA),
    ("square-production-access-token", f"Authorization: Bearer EAAA{'Ab' * 30}", None),
    ("braintree-production-access-token", f'BRAINTREE_TOKEN="{BT}"', BT),
    ("braintree-production-access-token", f'BRAINTREE_TOKEN="{BT[:-4]}"', None),
    ("braintree-sandbox-access-token", f"token={BTS}", BTS),
    ("braintree-sandbox-access-token", "token=access_token$sandbox$id$secret", None),
    ("paypal-client-secret", f"PAYPAL_CLIENT_SECRET={PAYPAL}", PAYPAL),
    ("paypal-client-secret", f"PAYPAL_CLIENT_ID={PAYPAL}", None),
    ("plaid-access-token", f'"access_token": "{PLAID}"', PLAID),
    ("plaid-access-token", '"access_token": "access-production-1b4e28ba"', None),
    ("plaid-secret", f"PLAID_SECRET={PLAID_SECRET}", PLAID_SECRET),
    ("plaid-secret", f"PLAID_CLIENT_ID={PLAID_SECRET}", None),
    ("flutterwave-secret-key", f"FLW_SECRET_KEY={FLW}", FLW),
    ("flutterwave-secret-key", f"FLW_SECRET_KEY={FLW[:-2]}", None),
    ("gocardless-access-token", f"GOCARDLESS_ACCESS_TOKEN={GOCARDLESS}", GOCARDLESS),
    ("gocardless-access-token", f"GOCARDLESS_ACCESS_TOKEN=sandbox_{GOCARDLESS[5:]}", None),
    ("razorpay-key-secret", f"RAZORPAY_KEY_SECRET={RAZORPAY}", RAZORPAY),
    ("razorpay-key-secret", f"RAZORPAY_KEY_ID={RAZORPAY}", None),
]


@params(CASES)
def test_payment_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each payment-provider rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
