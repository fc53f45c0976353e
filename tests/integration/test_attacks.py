"""The JWT attack suite against a real broker and a real OpenBao.

Every case is one hostile token. Each test expects its own error code, and proves (root's
view of OpenBao, the session table) that no session row, no OpenBao token and no per-session
policy was created, that the refusal was audited with that code, and that no credential
leaked into logs, audit lines, error bodies or metrics.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from demo.issuer import Issuer
from tests.support import tokens
from tests.support.exchange import Harness, MakeBroker, make_broker

__all__ = ["make_broker"]
pytestmark = pytest.mark.integration

SUB = "system:serviceaccount:demo:app"
RULES = """\
rules:
  - name: app
    issuer: trusted
    match: {sub: "system:serviceaccount:demo:*"}
    policies: [sluice-none]
    ttl: 5m
  - name: previews
    issuer: trusted
    match: {sub: "system:serviceaccount:preview-*"}
    acl: |
      path "secret/data/previews/{claims.kubernetes.io.namespace}/*" {
        capabilities = ["read"]
      }
    ttl: 5m
"""


def base_claims(issuer: Issuer, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {"iss": issuer.url, "sub": SUB, "aud": "sluice", "iat": now, "nbf": now}
    return body | {"exp": now + 300} | extra


def key_of(issuer: Issuer) -> Any:
    return issuer.keys[0]


@pytest.fixture
async def broker(make_broker: MakeBroker) -> Harness:
    return await make_broker(RULES)


async def assert_refused(
    broker: Harness, token: str, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = await broker.counts()
    assert await broker.code_of(token) == code
    assert await broker.counts() == before, "a session, token or policy was created"
    decision = [r for r in broker.audit_records() if r["event"] == "decision"][-1]
    assert (decision["result"], decision["reason"]) == ("deny", code)
    assert f'reason="{code}"' in await broker.metrics()
    broker.assert_no_leaks(caplog.text)


async def test_alg_none(broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture) -> None:
    """An unsigned token (alg none) is refused before any key is looked up."""
    token = tokens.alg_none(base_claims(issuer), kid=key_of(issuer).kid)
    await assert_refused(broker, token, "disallowed_algorithm", caplog)


async def test_hs256_keyed_with_the_issuers_public_key(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """Algorithm confusion: HMAC over the public PEM is refused as a disallowed algorithm."""
    key = key_of(issuer)
    token = tokens.hs256_with_public_key(
        base_claims(issuer), tokens.public_pem(key.private), key.kid
    )
    await assert_refused(broker, token, "disallowed_algorithm", caplog)


async def test_unknown_kid(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """A kid the issuer never published: unknown_key."""
    token = tokens.unknown_kid(base_claims(issuer), key_of(issuer).private)
    await assert_refused(broker, token, "unknown_key", caplog)


async def test_kid_of_another_configured_issuers_key(
    broker: Harness, issuer: Issuer, stranger_issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """Claims naming issuer A signed with (configured) issuer B's key and kid: unknown_key."""
    other = key_of(stranger_issuer)
    token = tokens.foreign_key(base_claims(issuer), other.private, other.kid)
    await assert_refused(broker, token, "unknown_key", caplog)


async def test_expired(broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture) -> None:
    """exp an hour ago (well past the 60 s skew): expired_token."""
    key = key_of(issuer)
    token = tokens.expired(base_claims(issuer), key.private, key.kid, now=int(time.time()))
    await assert_refused(broker, token, "expired_token", caplog)


async def test_nbf_in_the_future(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """nbf an hour ahead: token_not_yet_valid."""
    key = key_of(issuer)
    token = tokens.future_nbf(base_claims(issuer), key.private, key.kid, now=int(time.time()))
    await assert_refused(broker, token, "token_not_yet_valid", caplog)


async def test_iat_far_in_the_future(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """iat a day ahead: issued_in_future."""
    key = key_of(issuer)
    token = tokens.far_future_iat(base_claims(issuer), key.private, key.kid, now=int(time.time()))
    await assert_refused(broker, token, "issued_in_future", caplog)


async def test_wrong_issuer(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """A validly signed token whose iss is not configured: unknown_issuer."""
    token = issuer.mint(sub=SUB, iss="https://evil.example")
    await assert_refused(broker, token, "unknown_issuer", caplog)


async def test_wrong_audience(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """A token for another audience: audience_mismatch."""
    await assert_refused(
        broker, issuer.mint(sub=SUB, aud="other-service"), "audience_mismatch", caplog
    )


async def test_missing_exp(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """No exp claim at all: invalid_claims."""
    key = key_of(issuer)
    token = tokens.without_exp(base_claims(issuer), key.private, key.kid)
    await assert_refused(broker, token, "invalid_claims", caplog)


async def test_oversized_token(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """A validly signed 32 KiB token is refused by size, before parsing: token_too_large."""
    key = key_of(issuer)
    token = tokens.oversized(base_claims(issuer), key.private, key.kid)
    assert len(token) > 32 * 1024
    await assert_refused(broker, token, "token_too_large", caplog)


@pytest.mark.parametrize(
    "case",
    [
        "one_segment", "two_segments", "four_segments", "header_bad_base64",
        "payload_bad_base64", "signature_bad_base64", "header_not_json", "payload_not_json",
        "header_json_array", "payload_json_string",
    ],
)  # fmt: skip
async def test_malformed_base64_or_json(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    """Structurally broken tokens: invalid_token, never a 500."""
    key = key_of(issuer)
    token = tokens.malformed_tokens(base_claims(issuer), key.private, key.kid)[case]
    await assert_refused(broker, token, "invalid_token", caplog)


async def test_crit_header_with_unknown_extension(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """A crit header naming an extension we do not implement: unsupported_critical_header."""
    key = key_of(issuer)
    token = tokens.crit_unknown(base_claims(issuer), key.private, key.kid)
    await assert_refused(broker, token, "unsupported_critical_header", caplog)


async def test_replayed_jti(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """A token with jti opens one session; presenting it again is replayed_token."""
    token = issuer.mint(sub=SUB)
    status, _, _ = await broker.exchange(token)
    assert status == 201
    await assert_refused(broker, token, "replayed_token", caplog)


async def test_replay_cache_survives_a_broker_restart(
    make_broker: MakeBroker, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """The jti cache lives in the store: a new broker on the same store still refuses it."""
    first = await make_broker(RULES)
    token = issuer.mint(sub=SUB)
    assert (await first.exchange(token))[0] == 201
    await first.client.close()  # the first broker stops; its audit log is released
    second = await make_broker(RULES, workdir=first.config_path.parent)
    await assert_refused(second, token, "replayed_token", caplog)
    assert [r["event"] for r in second.audit_records()].count("startup") == 2


@pytest.mark.parametrize("namespace", ["+", "*", "a/b", "..", "x..y", "a}", 'a"', "a\nb", ""])
async def test_claim_value_widening_the_templated_path(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture, namespace: str
) -> None:
    """A namespace that would widen the per-session ACL path: unsafe_claim_value."""
    token = issuer.mint(
        sub="system:serviceaccount:preview-1:web", **{"kubernetes.io": {"namespace": namespace}}
    )
    await assert_refused(broker, token, "unsafe_claim_value", caplog)


async def test_a_safe_namespace_still_gets_its_session(
    broker: Harness, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """Control case: the same rule with a plain namespace opens a session with its own policy."""
    token = issuer.mint(
        sub="system:serviceaccount:preview-1:web", **{"kubernetes.io": {"namespace": "preview-1"}}
    )
    rows, accessors, policies = await broker.counts()
    status, body, _ = await broker.exchange(token)
    assert status == 201, body
    assert await broker.counts() == (rows + 1, accessors + 1, policies + 1)
    broker.assert_no_leaks(caplog.text)
