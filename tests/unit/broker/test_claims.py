"""Identity-token verification: one table, each fault its own code, no server."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from jwt.api_jwk import PyJWK

from broker import errors
from broker.claims import IssuerConfig, VerifiedClaims, peek, verify
from demo.issuer import SigningKey

ISS = "https://issuer.example"
NOW = 1_800_000_000.0
RSA = SigningKey.rsa("k1")
EC = SigningKey.ec("k2")
CFG = IssuerConfig(issuer=ISS, audiences=("sluice",), leeway_s=30)


def token(key: SigningKey = RSA, headers: dict[str, Any] | None = None, **claims: Any) -> str:
    body: dict[str, Any] = {
        "iss": ISS,
        "sub": "system:serviceaccount:demo:app",
        "aud": "sluice",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 300,
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(
        body, key.private, algorithm=key.alg, headers={"kid": key.kid, **(headers or {})}
    )


def pub(key: SigningKey) -> PyJWK:
    return PyJWK(key.public_jwk())


def test_valid_rsa_and_ec_tokens_verify() -> None:
    """A well-formed token signed by the issuer's key yields its subject and audience."""
    for key in (RSA, EC):
        got = verify(token(key), pub(key), CFG, NOW)
        assert isinstance(got, VerifiedClaims)
        assert (got.subject, got.audience, got.expires_at) == (
            "system:serviceaccount:demo:app",
            ("sluice",),
            NOW + 300,
        )


@pytest.mark.parametrize(
    ("make", "key", "now", "expected"),
    [
        (lambda: token(), EC, NOW, errors.DisallowedAlgorithm),  # RS256 token, EC key
        (
            lambda: token(key=SigningKey("k1", "RS256", SigningKey.rsa().private)),
            RSA,
            NOW,
            errors.InvalidSignature,
        ),
        (lambda: token(exp=NOW - 31), RSA, NOW, errors.ExpiredToken),
        (lambda: token(nbf=NOW + 31), RSA, NOW, errors.TokenNotYetValid),
        (lambda: token(aud="other"), RSA, NOW, errors.AudienceMismatch),
        (lambda: token(aud=["a", "b"]), RSA, NOW, errors.AudienceMismatch),
        (lambda: token(aud=None), RSA, NOW, errors.AudienceMismatch),
        (lambda: token(iss="https://evil.example"), RSA, NOW, errors.UnknownIssuer),
        (lambda: token(sub=None), RSA, NOW, errors.InvalidClaims),
        (lambda: token(exp=None), RSA, NOW, errors.InvalidClaims),
        (lambda: token(exp="soon"), RSA, NOW, errors.InvalidClaims),
        (lambda: "garbage", RSA, NOW, errors.InvalidToken),
        (lambda: "a.b.c", RSA, NOW, errors.InvalidToken),
        (lambda: "x" * 20_000, RSA, NOW, errors.TokenTooLarge),
    ],
    ids=[
        "wrong-alg",
        "bad-signature",
        "expired",
        "not-yet-valid",
        "other-audience",
        "no-accepted-audience-in-list",
        "no-audience",
        "other-issuer",
        "no-subject",
        "no-exp",
        "exp-not-number",
        "garbage",
        "not-base64",
        "oversized",
    ],
)
def test_faults_raise_their_own_error(
    make: Any, key: SigningKey, now: float, expected: type[errors.AuthError]
) -> None:
    """Each fault maps to one AuthError subclass (and so one stable code)."""
    with pytest.raises(expected) as info:
        verify(make(), pub(key), CFG, now)
    assert info.value.status == 401


def test_leeway_accepts_small_clock_skew() -> None:
    """Within leeway, an expired-by-seconds or not-yet-valid-by-seconds token passes."""
    verify(token(exp=NOW - 29), pub(RSA), CFG, NOW)
    verify(token(nbf=NOW + 29), pub(RSA), CFG, NOW)


def test_audience_list_with_an_accepted_member_passes() -> None:
    """An aud list passes when any member is accepted."""
    assert verify(token(aud=["x", "sluice"]), pub(RSA), CFG, NOW).audience == ("x", "sluice")


def test_hs256_is_refused_even_with_a_matching_secret() -> None:
    """Symmetric algorithms are not in the allow-list: no key confusion."""
    forged = jwt.encode(
        {"iss": ISS, "sub": "s", "aud": "sluice", "exp": NOW + 60},
        "secret-that-is-long-enough-for-hs256",
        algorithm="HS256",
        headers={"kid": "k1"},
    )
    with pytest.raises(errors.DisallowedAlgorithm):
        verify(forged, pub(RSA), CFG, NOW)


def test_peek_reads_routing_fields_only() -> None:
    """peek gives issuer, kid and alg without verifying; faults never echo the token."""
    head = peek(token())
    assert (head.issuer, head.kid, head.alg) == (ISS, "k1", "RS256")
    bad = token(exp=NOW - 3600)
    with pytest.raises(errors.ExpiredToken) as info:
        verify(bad, pub(RSA), CFG, NOW)
    assert bad not in str(info.value) and bad not in repr(info.value)


def test_wall_clock_is_not_consulted() -> None:
    """verify judges time only by the `now` it is given."""
    old = token(iat=1000, nbf=1000, exp=1300)
    assert verify(old, pub(RSA), CFG, 1100).subject
    assert time.time() > 1300
