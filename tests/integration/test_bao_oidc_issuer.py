"""OpenBao's own OIDC provider as an independent issuer: discovery, JWKS, RS256 tokens."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import jwt
import pytest

from demo.openbao import DevServer
from tests.support.bao_oidc import make_bao_oidc_issuer

pytestmark = pytest.mark.integration


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


def test_tokens_verify_against_published_keys(openbao: DevServer) -> None:
    """A token from OpenBao verifies with pyjwt against the keys its discovery names."""
    issuer = make_bao_oidc_issuer(
        openbao.addr,
        openbao.root_token,
        audience="sluice-e2e",
        metadata={"namespace": "preview-7", "service_account": "api"},
    )
    assert issuer.issuer == f"http://127.0.0.1:{openbao.port}/v1/identity/oidc"
    discovery = get_json(issuer.discovery_url)
    assert discovery["issuer"] == issuer.issuer
    assert discovery["jwks_uri"] == issuer.jwks_url
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    jwks = get_json(discovery["jwks_uri"])

    token = issuer.fetch_token()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    keys = {k["kid"]: k for k in jwks["keys"]}
    assert header["kid"] in keys
    claims = jwt.decode(
        token,
        jwt.PyJWK(keys[header["kid"]]).key,
        algorithms=["RS256"],
        audience="sluice-e2e",
        issuer=issuer.issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    assert claims["sub"] == issuer.entity_id
    assert claims["aud"] == "sluice-e2e"
    assert claims["kubernetes.io"] == {"namespace": "preview-7", "serviceaccount": {"name": "api"}}
    assert claims["entity_name"] == issuer.entity_name
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert abs(claims["iat"] - time.time()) < 60
    print("bao oidc token header:", header)
    print("bao oidc token claims:", claims)


def test_wrong_audience_and_issuer_are_refused(openbao: DevServer) -> None:
    """The same token fails verification for another audience or issuer."""
    issuer = make_bao_oidc_issuer(openbao.addr, openbao.root_token, audience="aud-a")
    token = issuer.fetch_token()
    key = jwt.PyJWKClient(issuer.jwks_url).get_signing_key_from_jwt(token).key
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key, algorithms=["RS256"], audience="aud-b", issuer=issuer.issuer)
    with pytest.raises(jwt.InvalidIssuerError):
        jwt.decode(token, key, algorithms=["RS256"], audience="aud-a", issuer="https://other")


def test_each_call_is_independent(openbao: DevServer) -> None:
    """Two issuers on one server use distinct keys, roles and entities."""
    first = make_bao_oidc_issuer(openbao.addr, openbao.root_token, audience="one")
    second = make_bao_oidc_issuer(openbao.addr, openbao.root_token, audience="two")
    assert (first.key, first.role, first.entity_id) != (second.key, second.role, second.entity_id)
    kid_one = jwt.get_unverified_header(first.fetch_token())["kid"]
    kid_two = jwt.get_unverified_header(second.fetch_token())["kid"]
    assert kid_one != kid_two
    published = {k["kid"] for k in get_json(first.jwks_url)["keys"]}
    assert {kid_one, kid_two} <= published
