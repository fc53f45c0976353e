"""Token builders for tests: platform-shaped claims and hostile tokens are what they claim."""

from __future__ import annotations

import base64
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support import tokens

NOW = 1_795_000_000
# Builders are checked for shape and signature here; time checks belong to the verifier.
UNTIMED: Any = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    def dec(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    head, body, sig = token.split(".")
    return json.loads(dec(head)), json.loads(dec(body)), dec(sig)


def test_kubernetes_claims_shape() -> None:
    """A projected SA token: list aud, nested kubernetes.io, sub naming ns and SA."""
    claims = tokens.kubernetes_claims(now=NOW, namespace="team-a", service_account="api")
    assert claims["sub"] == "system:serviceaccount:team-a:api"
    assert claims["aud"] == ["sluice"]
    k8s = claims["kubernetes.io"]
    assert k8s["namespace"] == "team-a" and k8s["serviceaccount"]["name"] == "api"
    assert set(k8s["pod"]) == {"name", "uid"} and set(k8s["serviceaccount"]) == {"name", "uid"}
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (NOW, NOW, NOW + 3600)


@pytest.mark.parametrize(
    ("kwargs", "sub"),
    [
        ({}, "repo:octo-org/octo-repo:environment:prod"),
        ({"environment": None}, "repo:octo-org/octo-repo:ref:refs/heads/main"),
        (
            {"environment": None, "event_name": "pull_request"},
            "repo:octo-org/octo-repo:pull_request",
        ),
        (
            {"environment": None, "ref": "refs/tags/v1.2.0"},
            "repo:octo-org/octo-repo:ref:refs/tags/v1.2.0",
        ),
    ],
)
def test_github_actions_claims_shape(kwargs: dict[str, Any], sub: str) -> None:
    """GitHub's sub follows its documented forms; ids are strings; issuer is GitHub's."""
    claims = tokens.github_actions_claims(now=NOW, **kwargs)
    assert claims["sub"] == sub
    assert claims["iss"] == "https://token.actions.githubusercontent.com"
    assert claims["repository_owner"] == "octo-org"
    for field in ["repository_id", "run_id", "run_attempt", "actor_id", "repository_owner_id"]:
        assert isinstance(claims[field], str)
    assert claims["job_workflow_ref"].startswith("octo-org/octo-repo/.github/workflows/")
    assert ("environment" in claims) == (kwargs.get("environment", "prod") is not None)
    assert claims["ref_type"] == ("tag" if "tags" in claims["ref"] else "branch")


def test_gitlab_ci_claims_shape() -> None:
    """GitLab's sub, string booleans, and namespace derived from the project path."""
    claims = tokens.gitlab_ci_claims(now=NOW, project_path="grp/sub/proj", ref_protected=False)
    assert claims["sub"] == "project_path:grp/sub/proj:ref_type:branch:ref:main"
    assert claims["namespace_path"] == "grp/sub"
    assert claims["ref_protected"] == "false" and claims["environment_protected"] == "false"
    assert claims["iss"] == "https://gitlab.com"
    assert isinstance(claims["pipeline_id"], str) and isinstance(claims["job_id"], str)
    assert "environment" not in tokens.gitlab_ci_claims(now=NOW, environment=None)


def test_sign_verifies_with_the_public_key(key: rsa.RSAPrivateKey) -> None:
    """`sign` makes a standard RS256/ES256 JWS a normal verifier accepts."""
    claims = tokens.kubernetes_claims(now=NOW)
    token = tokens.sign(claims, key, "k1")
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": "k1"}
    decoded = jwt.decode(
        token, key.public_key(), algorithms=["RS256"], audience="sluice", options=UNTIMED
    )
    assert decoded == claims
    ec_key = ec.generate_private_key(ec.SECP256R1())
    es = tokens.sign(claims, ec_key, "e1", alg="ES256")
    assert jwt.decode(
        es, ec_key.public_key(), algorithms=["ES256"], audience="sluice", options=UNTIMED
    )


def test_alg_none(key: rsa.RSAPrivateKey) -> None:
    """`alg: none` with an empty signature."""
    head, body, sig = segments(tokens.alg_none({"sub": "x"}, kid="k1"))
    assert head["alg"] == "none" and body == {"sub": "x"} and sig == b""


def test_hs256_keyed_with_public_pem(key: rsa.RSAPrivateKey) -> None:
    """The HS256 token verifies only if a verifier wrongly uses the PEM as an HMAC secret."""
    pem = tokens.public_pem(key)
    token = tokens.hs256_with_public_key({"sub": "x"}, pem, "k1")
    head, _, _ = segments(token)
    assert head == {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    signing_input, _, sig = token.rpartition(".")
    raw_sig = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    assert hmac.compare_digest(raw_sig, hmac.digest(pem, signing_input.encode(), "sha256"))
    with pytest.raises(jwt.PyJWTError):  # pyjwt itself refuses the confusion
        jwt.decode(token, pem, algorithms=["HS256"])


def test_kid_attacks(key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    """Unknown kid is fresh; foreign-key tokens verify with the other key only."""
    claims = tokens.kubernetes_claims(now=NOW)
    unknown = tokens.unknown_kid(claims, key)
    assert jwt.get_unverified_header(unknown)["kid"].startswith("unknown-")
    foreign = tokens.foreign_key(claims, other_key, "other-k")
    assert jwt.get_unverified_header(foreign)["kid"] == "other-k"
    opts: Any = {**UNTIMED, "verify_aud": False}
    assert jwt.decode(foreign, other_key.public_key(), algorithms=["RS256"], options=opts)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(foreign, key.public_key(), algorithms=["RS256"], options=opts)


def test_time_and_size_attacks(key: rsa.RSAPrivateKey) -> None:
    """Missing exp, far-future iat, future nbf, expired and oversized tokens carry that flaw."""
    claims = tokens.kubernetes_claims(now=NOW)
    assert "exp" not in segments(tokens.without_exp(claims, key, "k1"))[1]
    assert segments(tokens.far_future_iat(claims, key, "k1", now=NOW))[1]["iat"] == NOW + 86400
    assert segments(tokens.future_nbf(claims, key, "k1", now=NOW))[1]["nbf"] == NOW + 3600
    assert segments(tokens.expired(claims, key, "k1", now=NOW))[1]["exp"] == NOW - 3600
    big = tokens.oversized(claims, key, "k1")
    assert len(big) > 32 * 1024
    assert jwt.decode(
        big, key.public_key(), algorithms=["RS256"], audience="sluice", options=UNTIMED
    )


def test_crit_header(key: rsa.RSAPrivateKey) -> None:
    """The crit header names an extension that is present but unknown."""
    head, _, _ = segments(tokens.crit_unknown({"sub": "x"}, key, "k1"))
    assert head["crit"] == ["x-sluice-unknown"] and head["x-sluice-unknown"] == 1
    with pytest.raises(jwt.InvalidTokenError):  # a conforming verifier refuses it
        jwt.decode(
            tokens.crit_unknown({"sub": "x"}, key, "k1"), key.public_key(), algorithms=["RS256"]
        )


def test_malformed_tokens_are_all_unparsable(key: rsa.RSAPrivateKey) -> None:
    """Every malformed variant fails to parse in a standard library."""
    variants = tokens.malformed_tokens(tokens.kubernetes_claims(now=NOW), key, "k1")
    assert len(variants) >= 10
    for name, token in variants.items():
        with pytest.raises(jwt.InvalidTokenError):
            jwt.decode(
                token, key.public_key(), algorithms=["RS256"], audience="sluice", options=UNTIMED
            )
        assert name  # each variant is labelled
