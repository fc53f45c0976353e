"""Payments: Stripe, Square, PayPal/Braintree, Plaid, Flutterwave, GoCardless, Razorpay."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import keyed, prefixed

RULES: tuple[Rule, ...] = (
    prefixed("stripe-secret-key", "Stripe live secret key", r"sk_live_[0-9A-Za-z]{24,247}",
             ("sk_live_",), tags=("stripe",)),
    prefixed("stripe-restricted-key", "Stripe live restricted key",
             r"rk_live_[0-9A-Za-z]{24,247}", ("rk_live_",), tags=("stripe",)),
    prefixed("stripe-test-secret-key", "Stripe test-mode secret key",
             r"sk_test_[0-9A-Za-z]{24,247}", ("sk_test_",), tags=("stripe",)),
    prefixed("stripe-webhook-secret", "Stripe webhook signing secret",
             r"whsec_[0-9A-Za-z]{32,64}", ("whsec_",), tags=("stripe",)),
    prefixed("square-access-token", "Square access token (sq0atp-)",
             r"sq0atp-[0-9A-Za-z_-]{22}", ("sq0atp-",), tags=("square",)),
    prefixed("square-oauth-secret", "Square OAuth application secret",
             r"sq0csp-[0-9A-Za-z_-]{43}", ("sq0csp-",), tags=("square",)),
    prefixed("square-production-access-token", "Square production access token (EAAA)",
             r"EAAA[0-9A-Za-z_-]{60}", ("eaaa",), min_entropy=4.0, tags=("square",)),
    prefixed("braintree-production-access-token", "PayPal Braintree production access token",
             r"access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32}",
             ("access_token$production$",), start="", tags=("paypal",)),
    prefixed("braintree-sandbox-access-token", "PayPal Braintree sandbox access token",
             r"access_token\$sandbox\$[0-9a-z]{16}\$[0-9a-f]{32}", ("access_token$sandbox$",),
             start="", tags=("paypal",)),
    keyed("paypal-client-secret", "PayPal REST client secret next to its key name",
          r"paypal_?(?:client_?)?secret", r"[A-Za-z0-9_-]{80}", ("paypal",),
          min_entropy=4.0, tags=("paypal",)),
    prefixed("plaid-access-token", "Plaid access token",
             r"access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}"
             r"-[0-9a-f]{4}-[0-9a-f]{12}",
             ("access-sandbox-", "access-development-", "access-production-"),
             tags=("plaid",)),
    keyed("plaid-secret", "Plaid API secret next to its key name", r"plaid_?(?:api_?)?secret",
          r"[0-9a-f]{30}", ("plaid",), tags=("plaid",)),
    prefixed("flutterwave-secret-key", "Flutterwave secret key",
             r"FLWSECK(?:_TEST)?-[0-9a-f]{32}-X", ("flwseck",), tags=("flutterwave",)),
    keyed("gocardless-access-token", "GoCardless access token next to its key name",
          r"gocardless_?(?:access_?)?token", r"live_[A-Za-z0-9_=-]{40}", ("gocardless",),
          tags=("gocardless",)),
    keyed("razorpay-key-secret", "Razorpay key secret next to its key name",
          r"razorpay_?(?:key_?)?secret", r"[A-Za-z0-9]{24}", ("razorpay",),
          min_entropy=3.5, tags=("razorpay",)),
)
