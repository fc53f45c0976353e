"""Observability rules: prefixed keys, Sentry DSNs, context-bound hex keys."""

from __future__ import annotations

import base64
import json

from tests.unit.scanners.rules.synth import (
    ALNUM,
    B64,
    HEX,
    LOWER,
    UPPER_ALNUM,
    URLSAFE,
    Case,
    check,
    params,
    synth,
)

UUID = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"
DD_API = synth(HEX, 32, "ddapi")
DD_APP = synth(HEX, 40, "ddapp")
NRAK = "NRAK-" + synth(UPPER_ALNUM, 27, "nrak")
NRII = "NRII-" + synth(URLSAFE, 32, "nrii")
NRIQ = "NRIQ-" + synth(URLSAFE, 32, "nriq")
NRJS = "NRJS-" + synth(HEX, 19, "nrjs")
NRAL = synth(HEX, 36, "nral") + "NRAL"
DSN_KEY = synth(HEX, 32, "dsn")
SNTRYS_META = base64.b64encode(json.dumps(
    {"iat": 1700000000, "url": "https://sentry.io", "region_url": "https://us.sentry.io",
     "org": "acme"}).encode()).decode().rstrip("=")
SNTRYS = "sntrys_" + SNTRYS_META + "_" + synth(B64, 43, "sntrys")
SNTRYU = "sntryu_" + synth(HEX, 64, "sntryu")
PD = "u+" + synth(URLSAFE, 18, "pd")
GLSA = "glsa_" + synth(ALNUM, 32, "glsa") + "_" + synth(HEX, 8, "glsa2")
GLC = "glc_" + synth(B64, 120, "glc") + "=="
GRAFANA = "eyJrIjoi" + synth(ALNUM, 90, "grafana")
HONEYCOMB = synth(ALNUM, 22, "honeycomb")
DT = "dt0c01." + synth(UPPER_ALNUM, 24, "dt1") + "." + synth(UPPER_ALNUM, 64, "dt2")
ROLLBAR = synth(HEX, 32, "rollbar")
SUMO = synth(ALNUM, 64, "sumo")
LOGZ = synth(LOWER, 32, "logz")

CASES: list[Case] = [
    ("datadog-api-key", f"DD_API_KEY={DD_API}", DD_API),
    ("datadog-api-key", f"-H 'DD-API-KEY: {DD_API}'", DD_API),
    ("datadog-api-key", f"DD_TRACE_ID={DD_API}", None),
    ("datadog-api-key", f"DD_API_KEY={DD_API[:-1]}", None),
    ("datadog-app-key", f"datadog_app_key: {DD_APP}", DD_APP),
    ("datadog-app-key", f"git_commit: {DD_APP}", None),
    ("newrelic-user-api-key", f"NEW_RELIC_API_KEY={NRAK}", NRAK),
    ("newrelic-user-api-key", f"NEW_RELIC_API_KEY={NRAK.lower()}", None),
    ("newrelic-insert-key", f"X-Insert-Key: {NRII}", NRII),
    ("newrelic-insert-key", f"X-Insert-Key: {NRII[:-5]}", None),
    ("newrelic-query-key", f"X-Query-Key: {NRIQ}", NRIQ),
    ("newrelic-query-key", f"X-Query-Key: {NRIQ[:-5]}", None),
    ("newrelic-browser-key", f"NREUM.info={{licenseKey:'{NRJS}'}}", NRJS),
    ("newrelic-browser-key", f"licenseKey:'{NRJS[:-2]}'", None),
    ("newrelic-license-key", f"license_key: {NRAL}", NRAL),
    ("newrelic-license-key", f"license_key: {NRAL[:20]}NRAL", None),
    ("sentry-dsn", f"SENTRY_DSN=https://{DSN_KEY}@o450000.ingest.sentry.io/5500000", DSN_KEY),
    ("sentry-dsn", f"dsn: https://{DSN_KEY}@sentry.internal.example.net:9000/12", DSN_KEY),
    ("sentry-dsn", f"https://{DSN_KEY}@github.com/acme/42", None),
    ("sentry-dsn", "https://examplePublicKey@o0.ingest.sentry.io/0", None),
    ("sentry-org-token", f"SENTRY_AUTH_TOKEN={SNTRYS}", SNTRYS),
    ("sentry-org-token", f"SENTRY_AUTH_TOKEN=sntrys_{synth(HEX, 40, 'x')}", None),
    ("sentry-user-token", f"SENTRY_AUTH_TOKEN={SNTRYU}", SNTRYU),
    ("sentry-user-token", f"SENTRY_AUTH_TOKEN={SNTRYU[:-10]}", None),
    ("pagerduty-api-key", f"PAGERDUTY_API_KEY={PD}", PD),
    ("pagerduty-api-key", f"Authorization: Token token={PD}", PD),
    ("pagerduty-api-key", "PAGERDUTY_API_KEY=y_NbAkKc66ryYTWUXYEu", None),
    ("grafana-service-account-token", f"GRAFANA_TOKEN={GLSA}", GLSA),
    ("grafana-service-account-token", f"GRAFANA_TOKEN={GLSA[:-2]}", None),
    ("grafana-cloud-token", f"GRAFANA_CLOUD_TOKEN={GLC}", GLC),
    ("grafana-cloud-token", "GRAFANA_CLOUD_TOKEN=glc_short", None),
    ("grafana-api-key", f"Authorization: Bearer {GRAFANA}", GRAFANA),
    ("grafana-api-key", "Authorization: Bearer eyJrIjoiabc", None),
    ("honeycomb-api-key", f"X-Honeycomb-Team: {HONEYCOMB}", HONEYCOMB),
    ("honeycomb-api-key", f"X-Honeycomb-Dataset: {HONEYCOMB}", None),
    ("splunk-hec-token", f"Authorization: Splunk {UUID}", UUID),
    ("splunk-hec-token", f"splunk_index: {UUID}", None),
    ("dynatrace-api-token", f"Api-Token {DT}", DT),
    ("dynatrace-api-token", f"Api-Token {DT[:40]}", None),
    ("rollbar-access-token", f"ROLLBAR_ACCESS_TOKEN={ROLLBAR}", ROLLBAR),
    ("rollbar-access-token", f"ROLLBAR_ENV={ROLLBAR}", None),
    ("bugsnag-api-key", f"BUGSNAG_API_KEY={ROLLBAR}", ROLLBAR),
    ("bugsnag-api-key", f"BUGSNAG_RELEASE={ROLLBAR}", None),
    ("opsgenie-api-key", f"Authorization: GenieKey {UUID}", UUID),
    ("opsgenie-api-key", f"opsgenie_team_id: {UUID}", None),
    ("sumologic-access-key", f"SUMO_ACCESS_KEY={SUMO}", SUMO),
    ("sumologic-access-key", f"SUMO_ACCESS_ID={SUMO}", None),
    ("logzio-token", f"LOGZIO_TOKEN={LOGZ}", LOGZ),
    ("logzio-token", f"LOGZIO_TOKEN={LOGZ[:-8]}", None),
    ("axiom-token", f"AXIOM_TOKEN=xaat-{UUID}", f"xaat-{UUID}"),
    ("axiom-token", f"AXIOM_TOKEN=xaxt-{UUID}", None),
]


@params(CASES)
def test_observability_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each observability rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)


def test_key_name_must_start_at_a_separator() -> None:
    """`add_api_key` is not `dd_api_key`: a key name needs a non-alphanumeric left edge."""
    check("datadog-api-key", f"MY_DD_API_KEY={DD_API}", DD_API)
    check("datadog-api-key", f"add_api_key={DD_API}", None)
