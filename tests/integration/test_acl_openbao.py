"""A rendered per-session ACL, loaded into real OpenBao, grants exactly its templated path."""

from __future__ import annotations

import secrets

import jwt
import pytest

from broker.acl import UnsafeClaimValue, parse_acl_template, policy_name, render_acl
from demo.openbao import DevServer
from tests.support.bao_oidc import make_bao_oidc_issuer

pytestmark = pytest.mark.integration

TEMPLATE = parse_acl_template(
    'path "secret/data/previews/{claims.kubernetes.io.namespace}/*" {\n'
    '  capabilities = ["read"]\n'
    "}\n",
    field="rules[0].acl",
)


def read_status(server: DevServer, token: str, path: str) -> int:
    status, _ = server.api("GET", f"secret/data/{path}", token=token)
    return status


def test_session_policy_from_real_issuer_claims(openbao: DevServer) -> None:
    """Claims of an OpenBao-minted identity token render a policy that reads only its namespace."""
    ns = f"preview-{secrets.token_hex(3)}"
    issuer = make_bao_oidc_issuer(
        openbao.addr, openbao.root_token, metadata={"namespace": ns, "service_account": "web"}
    )
    token = issuer.fetch_token()
    key = jwt.PyJWKClient(issuer.jwks_url).get_signing_key_from_jwt(token).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="sluice", issuer=issuer.issuer)

    name = policy_name("ses_" + secrets.token_urlsafe(16))  # the broker's session id shape
    openbao.put_policy(name, render_acl(TEMPLATE, claims))
    assert name in openbao.ok("LIST", "sys/policies/acl")["data"]["keys"]
    openbao.kv_put(f"previews/{ns}/db", {"password": "p1"})
    openbao.kv_put("previews/other-ns/db", {"password": "p2"})
    openbao.kv_put(f"previews/{ns}-evil/db", {"password": "p3"})
    openbao.kv_put("previews/top", {"password": "p4"})
    created = openbao.ok(
        "POST", "auth/token/create", {"policies": [name], "no_default_policy": True, "ttl": "5m"}
    )
    session_token = created["auth"]["client_token"]

    assert read_status(openbao, session_token, f"previews/{ns}/db") == 200
    assert read_status(openbao, session_token, "previews/other-ns/db") == 403
    assert read_status(openbao, session_token, f"previews/{ns}-evil/db") == 403
    assert read_status(openbao, session_token, "previews/top") == 403

    # the session's policy is gone at session end: the token loses access at once
    openbao.ok("DELETE", f"sys/policies/acl/{name}")
    assert read_status(openbao, session_token, f"previews/{ns}/db") == 403


def test_hostile_namespace_would_widen_and_is_refused(openbao: DevServer) -> None:
    """A `+` claim really widens OpenBao's grant to every namespace; rendering refuses it."""
    hostile = "+"  # OpenBao's one-segment wildcard
    naive = TEMPLATE.text.replace("{claims.kubernetes.io.namespace}", hostile)
    name = policy_name(secrets.token_hex(8))
    openbao.put_policy(name, naive)
    openbao.kv_put("previews/victim-ns/db", {"password": "p5"})
    created = openbao.ok(
        "POST", "auth/token/create", {"policies": [name], "no_default_policy": True, "ttl": "5m"}
    )
    assert read_status(openbao, created["auth"]["client_token"], "previews/victim-ns/db") == 200
    openbao.ok("DELETE", f"sys/policies/acl/{name}")

    with pytest.raises(UnsafeClaimValue):
        render_acl(TEMPLATE, {"kubernetes.io": {"namespace": hostile}})
