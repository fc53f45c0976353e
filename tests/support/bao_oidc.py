"""Turn a running OpenBao dev server into an independent OIDC issuer (FACTS.md's recipe).

OpenBao's identity-token provider signs RS256 JWTs with keys it generates and rotates itself,
publishes discovery and JWKS without authentication, and knows nothing of Sluice: tokens
from it prove the broker accepts an issuer no one here wrote.

    issuer = make_bao_oidc_issuer(addr, root_token, audience="sluice",
                                  metadata={"namespace": "preview-42"})
    jwt = issuer.fetch_token()

The claims template gives Kubernetes-shaped claims from the entity's metadata, so rules
written for projected service-account tokens match (``kubernetes.io.namespace`` etc.).
Every call uses fresh names (key, role, policy, entity, alias, token role).
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Each {{...}} renders as a JSON value; spaces keep "}}" apart from the JSON's own "}" (the
# template parser refuses "}}}").
DEFAULT_TEMPLATE = (
    '{"kubernetes.io": {"namespace": {{identity.entity.metadata.namespace}}, '
    '"serviceaccount": {"name": {{identity.entity.metadata.service_account}} } }, '
    '"entity_name": {{identity.entity.name}} }'
)
DEFAULT_METADATA = {"namespace": "preview-42", "service_account": "web"}


class BaoApiError(RuntimeError):
    pass


def bao_api(
    addr: str, method: str, path: str, token: str | None, body: Mapping[str, Any] | None = None
) -> Any:
    """One call to ``{addr}/v1/{path}``; raises :class:`BaoApiError` on HTTP >= 400."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{addr}/v1/{path}", data=data, method=method)
    if token is not None:
        request.add_header("X-Vault-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        # OpenBao error bodies name the problem and never echo the request token.
        raise BaoApiError(f"{method} {path} -> {exc.code}: {exc.read()[:300]!r}") from None
    return json.loads(raw) if raw else None


@dataclass(frozen=True)
class BaoOidcIssuer:
    addr: str
    issuer: str  # the `iss` of every token: {addr}/v1/identity/oidc
    discovery_url: str
    jwks_url: str
    audience: str
    role: str
    key: str
    entity_id: str
    entity_name: str
    caller_token: str = field(repr=False)

    def fetch_token(self) -> str:
        """A fresh identity token (JWT) for the entity, minted by OpenBao."""
        answer = bao_api(self.addr, "GET", f"identity/oidc/token/{self.role}", self.caller_token)
        return str(answer["data"]["token"])


def make_bao_oidc_issuer(
    addr: str,
    root_token: str,
    *,
    audience: str = "sluice",
    metadata: Mapping[str, str] | None = None,
    template: str = DEFAULT_TEMPLATE,
    ttl: str = "5m",
) -> BaoOidcIssuer:
    """Configure the issuer, a signing key, a role, and an entity allowed to use it."""
    suffix = secrets.token_hex(4)
    key, role, policy = f"sluice-key-{suffix}", f"sluice-role-{suffix}", f"sluice-oidc-{suffix}"
    entity_name, token_role = f"workload-{suffix}", f"sluice-tr-{suffix}"

    def call(method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return bao_api(addr, method, path, root_token, body)

    # 1. the issuer, a key and a role (client_id = the audience the broker expects)
    call("POST", "identity/oidc/config", {"issuer": addr})
    call("POST", f"identity/oidc/key/{key}", {"algorithm": "RS256", "allowed_client_ids": ["*"]})
    call(
        "POST",
        f"identity/oidc/role/{role}",
        {"key": key, "ttl": ttl, "client_id": audience, "template": template},
    )
    call(
        "PUT",
        f"sys/policies/acl/{policy}",
        {"policy": f'path "identity/oidc/token/{role}" {{ capabilities = ["read"] }}'},
    )
    # 2. an entity with that policy, an alias on the token mount, a token carrying the alias
    entity = call(
        "POST",
        "identity/entity",
        {"name": entity_name, "policies": [policy], "metadata": dict(metadata or DEFAULT_METADATA)},
    )
    entity_id = str(entity["data"]["id"])
    mounts = call("GET", "sys/auth")
    accessor = str((mounts.get("data") or mounts)["token/"]["accessor"])
    call(
        "POST",
        "identity/entity-alias",
        {"name": entity_name, "canonical_id": entity_id, "mount_accessor": accessor},
    )
    call("POST", f"auth/token/roles/{token_role}", {"allowed_entity_aliases": [entity_name]})
    created = call(
        "POST",
        f"auth/token/create/{token_role}",
        {"entity_alias": entity_name, "ttl": "1h", "no_default_policy": True},
    )
    issuer = f"{addr}/v1/identity/oidc"
    return BaoOidcIssuer(
        addr=addr,
        issuer=issuer,
        discovery_url=f"{issuer}/.well-known/openid-configuration",
        jwks_url=f"{issuer}/.well-known/keys",
        audience=audience,
        role=role,
        key=key,
        entity_id=entity_id,
        entity_name=entity_name,
        caller_token=str(created["auth"]["client_token"]),
    )
