"""Verifier hardening: size first, strict parsing, crit, iat, token age, kinds, algorithms."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.api_jwk import PyJWK

from broker import errors
from broker.claims import IssuerConfig, check_algorithm, parse, verify
from demo.issuer import SigningKey
from tests.support import tokens

ISS = "https://issuer.example"
NOW = 1_800_000_000
RSA = SigningKey.rsa("k1")
CFG = IssuerConfig(issuer=ISS, audiences=("sluice",))
PUB = PyJWK(RSA.public_jwk())


def claims(**extra: Any) -> dict[str, Any]:
    body = {"iss": ISS, "sub": "s", "aud": "sluice", "iat": NOW, "nbf": NOW, "exp": NOW + 300}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def signed(body: dict[str, Any], **header: Any) -> str:
    return tokens.sign(body, RSA.private, RSA.kid, "RS256", **header)


def raw_token(header: bytes, payload: bytes, sig: str = "c2ln") -> str:
    enc = tokens.b64url
    return f"{enc(header)}.{enc(payload)}.{sig}"


def test_default_clock_skew_is_60_seconds() -> None:
    """Without configuration, 59 s of skew passes and 61 s does not."""
    verify(signed(claims(exp=NOW - 59)), PUB, CFG, NOW)
    with pytest.raises(errors.ExpiredToken):
        verify(signed(claims(exp=NOW - 61)), PUB, CFG, NOW)


def test_size_is_checked_before_parsing() -> None:
    """A token over the limit is refused as too large even when it is garbage."""
    with pytest.raises(errors.TokenTooLarge):
        parse("!" * 100, max_bytes=99)
    big = tokens.oversized(claims(), RSA.private, RSA.kid, size=17 * 1024)
    with pytest.raises(errors.TokenTooLarge):
        verify(big, PUB, CFG, NOW)


@pytest.mark.parametrize(
    "token",
    [
        raw_token(b'{"alg":"RS256","alg":"none"}', json.dumps(claims()).encode()),
        raw_token(b'{"alg":"RS256"}', b'{"iss":"a","iss":"b"}'),
        raw_token(b'{"alg":"RS256"}', b'{"exp": NaN}'),
        raw_token(b'{"alg":"RS256"}', b"[" * 5000 + b"]" * 5000),
        raw_token(b'{"alg":"RS256"}', b'{"a":1}', sig="c2ln="),  # padding is not base64url
        raw_token(b'{"alg":"RS256"}', b'{"a":1}', sig="c2l+"),
        raw_token(b"\xff\xfe", b"{}"),
    ],
    ids=["dup-header", "dup-claim", "nan", "deep", "padding", "plus", "not-utf8"],
)
def test_ambiguous_or_malformed_json_is_refused(token: str) -> None:
    """Duplicate members, NaN, deep nesting and loose base64 are invalid_token, not crashes."""
    with pytest.raises(errors.InvalidToken):
        verify(token, PUB, CFG, NOW)


def test_crit_header_is_refused_even_when_the_signature_is_good() -> None:
    """We implement no JWS extension, so any crit header is refused (RFC 7515 4.1.11)."""
    with pytest.raises(errors.UnsupportedCriticalHeader) as info:
        verify(tokens.crit_unknown(claims(), RSA.private, RSA.kid), PUB, CFG, NOW)
    assert info.value.code == "unsupported_critical_header"


def test_iat_in_the_future_and_max_token_age() -> None:
    """iat beyond the skew is refused; with max_token_age an old or iat-less token is too."""
    with pytest.raises(errors.IssuedInFuture):
        verify(signed(claims(iat=NOW + 3600, exp=NOW + 7200)), PUB, CFG, NOW)
    verify(signed(claims(iat=NOW + 59)), PUB, CFG, NOW)
    aged = IssuerConfig(issuer=ISS, audiences=("sluice",), max_token_age_s=600)
    verify(signed(claims(iat=NOW - 600)), PUB, aged, NOW)
    with pytest.raises(errors.TokenTooOld):
        verify(signed(claims(iat=NOW - 700, exp=NOW + 300)), PUB, aged, NOW)
    with pytest.raises(errors.InvalidClaims):
        verify(signed(claims(iat=None)), PUB, aged, NOW)


@pytest.mark.parametrize("alg", ["none", "HS256", "HS512", "RS1", "", "ES256K"])
def test_only_listed_asymmetric_algorithms_pass_the_gate(alg: str) -> None:
    """none, HS* and unknown names are refused even if an operator lists them."""
    permissive = IssuerConfig(issuer=ISS, audiences=("a",), algorithms=(alg,))
    with pytest.raises(errors.DisallowedAlgorithm):
        check_algorithm(alg, permissive)


def test_rs_ps_es_and_eddsa_verify_when_allowed() -> None:
    """Each asymmetric family verifies with its own key type."""
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(ed.public_key()))
    cases = [
        ("PS256", RSA.private, RSA.public_jwk()),
        ("EdDSA", ed, ed_jwk),
        ("ES256", SigningKey.ec().private, None),
    ]
    for alg, private, jwk in cases:
        if jwk is None:
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        cfg = IssuerConfig(issuer=ISS, audiences=("sluice",), algorithms=(alg,))
        token = tokens.sign(claims(), private, "k", alg)
        key = PyJWK({k: v for k, v in jwk.items() if k != "alg"}, algorithm=alg)
        assert verify(token, key, cfg, NOW).subject == "s"


def test_kind_requires_the_platforms_claims() -> None:
    """A 'github' issuer's token without repository claims is invalid_claims."""
    cfg = IssuerConfig(issuer=ISS, audiences=("sluice",), kind="github")
    with pytest.raises(errors.InvalidClaims, match="repository"):
        verify(signed(claims()), PUB, cfg, NOW)
    gh = tokens.github_actions_claims(now=NOW, audience="sluice") | {"iss": ISS}
    assert verify(signed(gh), PUB, cfg, NOW).claims["repository_owner"] == "octo-org"
    k8s = IssuerConfig(issuer=ISS, audiences=("sluice",), kind="kubernetes")
    pod = tokens.kubernetes_claims(now=NOW, issuer=ISS)
    assert verify(signed(pod), PUB, k8s, NOW).jti == pod["jti"]


@pytest.mark.parametrize("jti", [5, "", "x" * 300, ["a"]])
def test_jti_must_be_a_short_string(jti: object) -> None:
    """A jti that cannot key the replay cache is refused."""
    with pytest.raises(errors.InvalidClaims):
        verify(signed(claims(jti=jti)), PUB, CFG, NOW)


def test_huge_numbers_are_claims_errors() -> None:
    """exp of 10**400 (overflows a float) is invalid_claims, not an OverflowError."""
    with pytest.raises(errors.InvalidClaims):
        verify(signed(claims(exp=10**400)), PUB, CFG, NOW)


def test_signature_over_other_bytes_fails() -> None:
    """Swapping the payload of a validly signed token breaks the signature."""
    good = signed(claims())
    head, _, sig = good.split(".")
    other = base64.urlsafe_b64encode(json.dumps(claims(sub="admin")).encode()).rstrip(b"=")
    with pytest.raises(errors.InvalidSignature):
        verify(f"{head}.{other.decode()}.{sig}", PUB, CFG, NOW)
