"""Identity-token claims shaped as the platforms document them, and hostile tokens.

Claim builders return plain dicts (``now`` is passed in, epoch seconds):
- :func:`kubernetes_claims`: a projected service-account token (kubernetes.io/docs, "Service
  account token volume projection"; `aud` is a list there).
- :func:`github_actions_claims`: GitHub Actions' OIDC id-token (docs.github.com, "About
  security hardening with OpenID Connect"; every id is a string).
- :func:`gitlab_ci_claims`: a GitLab CI `id_tokens` token (docs.gitlab.com, "OpenID Connect
  (OIDC) Authentication Using ID Tokens"; `ref_protected` is the string "true"/"false").

:func:`sign` makes a compact JWS with exactly the header given. The attack builders make one
hostile token each; every one is something a verifier must refuse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import jwt

Claims = dict[str, Any]


# --- claims ---------------------------------------------------------------------------------
def kubernetes_claims(
    *,
    now: int,
    issuer: str = "https://kubernetes.default.svc.cluster.local",
    audience: str | list[str] = "sluice",
    namespace: str = "preview-42",
    service_account: str = "web",
    pod: str = "web-7d9f8c6b5-x2x9q",
    node: str | None = "node-1",
    ttl_s: int = 3600,
) -> Claims:
    k8s: dict[str, Any] = {
        "namespace": namespace,
        "pod": {"name": pod, "uid": str(uuid.uuid4())},
        "serviceaccount": {"name": service_account, "uid": str(uuid.uuid4())},
    }
    if node is not None:  # Kubernetes >= 1.30 binds the node too
        k8s["node"] = {"name": node, "uid": str(uuid.uuid4())}
    return {
        "aud": [audience] if isinstance(audience, str) else list(audience),
        "exp": now + ttl_s,
        "iat": now,
        "iss": issuer,
        "jti": str(uuid.uuid4()),
        "kubernetes.io": k8s,
        "nbf": now,
        "sub": f"system:serviceaccount:{namespace}:{service_account}",
    }


def github_actions_claims(
    *,
    now: int,
    repository: str = "octo-org/octo-repo",
    audience: str = "https://github.com/octo-org",
    ref: str = "refs/heads/main",
    environment: str | None = "prod",
    event_name: str = "push",
    workflow_file: str = ".github/workflows/deploy.yml",
    job_workflow_ref: str | None = None,
    actor: str = "octocat",
    run_id: str = "6001234567",
    ttl_s: int = 300,
) -> Claims:
    owner = repository.split("/", 1)[0]
    ref_type = "tag" if ref.startswith("refs/tags/") else "branch"
    if environment is not None:
        sub = f"repo:{repository}:environment:{environment}"
    elif event_name == "pull_request":
        sub = f"repo:{repository}:pull_request"
    else:
        sub = f"repo:{repository}:ref:{ref}"
    workflow_ref = f"{repository}/{workflow_file}@{ref}"
    claims: Claims = {
        "jti": str(uuid.uuid4()),
        "sub": sub,
        "aud": audience,
        "ref": ref,
        "ref_type": ref_type,
        "ref_protected": "true" if ref_type == "branch" else "false",
        "sha": hashlib.sha1(ref.encode(), usedforsecurity=False).hexdigest(),
        "repository": repository,
        "repository_owner": owner,
        "repository_owner_id": "65",
        "repository_id": "74",
        "repository_visibility": "private",
        "actor": actor,
        "actor_id": "12",
        "run_id": run_id,
        "run_number": "10",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        "workflow": "deploy",
        "workflow_ref": workflow_ref,
        "workflow_sha": hashlib.sha1(workflow_ref.encode(), usedforsecurity=False).hexdigest(),
        "job_workflow_ref": job_workflow_ref or workflow_ref,
        "job_workflow_sha": hashlib.sha1(workflow_ref.encode(), usedforsecurity=False).hexdigest(),
        "event_name": event_name,
        "head_ref": "",
        "base_ref": "",
        "iss": "https://token.actions.githubusercontent.com",
        "nbf": now - 5,
        "exp": now + ttl_s,
        "iat": now,
    }
    if environment is not None:
        claims["environment"] = environment
    return claims


def gitlab_ci_claims(
    *,
    now: int,
    project_path: str = "my-group/my-project",
    audience: str = "sluice",
    ref: str = "main",
    ref_type: str = "branch",
    ref_protected: bool = True,
    environment: str | None = "production",
    issuer: str = "https://gitlab.com",
    user_login: str = "sample-user",
    pipeline_id: str = "574",
    job_id: str = "302",
    ttl_s: int = 300,
) -> Claims:
    namespace_path = project_path.rsplit("/", 1)[0]
    claims: Claims = {
        "namespace_id": "72",
        "namespace_path": namespace_path,
        "project_id": "20",
        "project_path": project_path,
        "user_id": "1",
        "user_login": user_login,
        "user_email": f"{user_login}@example.com",
        "user_access_level": "maintainer",
        "pipeline_id": pipeline_id,
        "pipeline_source": "push",
        "job_id": job_id,
        "ref": ref,
        "ref_type": ref_type,
        "ref_path": f"refs/{'heads' if ref_type == 'branch' else 'tags'}/{ref}",
        "ref_protected": "true" if ref_protected else "false",
        "runner_id": 1,
        "runner_environment": "gitlab-hosted",
        "sha": hashlib.sha1(ref.encode(), usedforsecurity=False).hexdigest(),
        "project_visibility": "private",
        "ci_config_ref_uri": f"gitlab.com/{project_path}//.gitlab-ci.yml@refs/heads/{ref}",
        "ci_config_sha": hashlib.sha1(project_path.encode(), usedforsecurity=False).hexdigest(),
        "jti": str(uuid.uuid4()),
        "iss": issuer,
        "iat": now,
        "nbf": now - 5,
        "exp": now + ttl_s,
        "sub": f"project_path:{project_path}:ref_type:{ref_type}:ref:{ref}",
        "aud": audience,
    }
    if environment is not None:
        claims |= {
            "environment": environment,
            "environment_protected": "true" if ref_protected else "false",
            "deployment_tier": "production" if environment == "production" else "other",
            "environment_action": "start",
        }
    return claims


# --- encoding -------------------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def sign(
    claims: Claims, private_key: Any, kid: str | None, alg: str = "RS256", **header: Any
) -> str:
    """A compact JWS with header ``{alg, typ, kid, **header}``, signed by ``private_key``."""
    head: dict[str, Any] = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {}), **header}
    signing_input = f"{_segment(head)}.{_segment(claims)}"
    algorithm = jwt.get_algorithm_by_name(alg)
    signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(private_key))
    return f"{signing_input}.{b64url(signature)}"


def public_pem(private_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


# --- attacks --------------------------------------------------------------------------------
def alg_none(claims: Claims, kid: str | None = None) -> str:
    """Unsigned token claiming ``alg: none`` (empty signature)."""
    head = {"alg": "none", "typ": "JWT", **({"kid": kid} if kid else {})}
    return f"{_segment(head)}.{_segment(claims)}."


def hs256_with_public_key(claims: Claims, issuer_public_pem: bytes, kid: str) -> str:
    """HS256 keyed with the issuer's *public* PEM: the classic algorithm-confusion attack."""
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_segment(claims)}"
    mac = hmac.new(issuer_public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def unknown_kid(claims: Claims, private_key: Any, alg: str = "RS256") -> str:
    """Properly signed, but the kid is in nobody's key set."""
    return sign(claims, private_key, f"unknown-{uuid.uuid4().hex[:12]}", alg)


def foreign_key(claims: Claims, other_private_key: Any, other_kid: str, alg: str = "RS256") -> str:
    """Claims naming one issuer, signed by another issuer's key with that key's kid."""
    return sign(claims, other_private_key, other_kid, alg)


def without_exp(claims: Claims, private_key: Any, kid: str, alg: str = "RS256") -> str:
    return sign({k: v for k, v in claims.items() if k != "exp"}, private_key, kid, alg)


def oversized(
    claims: Claims, private_key: Any, kid: str, size: int = 32 * 1024, alg: str = "RS256"
) -> str:
    """A valid signature over claims padded until the token exceeds ``size`` bytes."""
    return sign({**claims, "pad": "x" * size}, private_key, kid, alg)


def crit_unknown(claims: Claims, private_key: Any, kid: str, alg: str = "RS256") -> str:
    """A ``crit`` header naming an extension no verifier understands (RFC 7515 4.1.11)."""
    return sign(claims, private_key, kid, alg, crit=["x-sluice-unknown"], **{"x-sluice-unknown": 1})


def far_future_iat(
    claims: Claims, private_key: Any, kid: str, *, now: int, ahead_s: int = 86400
) -> str:
    return sign({**claims, "iat": now + ahead_s}, private_key, kid)


def future_nbf(claims: Claims, private_key: Any, kid: str, *, now: int, ahead_s: int = 3600) -> str:
    return sign({**claims, "nbf": now + ahead_s}, private_key, kid)


def expired(claims: Claims, private_key: Any, kid: str, *, now: int, ago_s: int = 3600) -> str:
    return sign(
        {**claims, "iat": now - 2 * ago_s, "nbf": now - 2 * ago_s, "exp": now - ago_s},
        private_key,
        kid,
    )


def malformed_tokens(claims: Claims, private_key: Any, kid: str) -> dict[str, str]:
    """Tokens broken in their structure: each name says how."""
    good = sign(claims, private_key, kid)
    head, body, sig = good.split(".")
    not_json, unterminated = b64url(b"not json"), b64url(b"{unterminated")
    array, bare_string = b64url(b"[1,2]"), b64url(b'"just a string"')
    return {
        "empty": "",
        "one_segment": head,
        "two_segments": f"{head}.{body}",
        "four_segments": f"{good}.{sig}",
        "header_bad_base64": f"!!{head[2:]}.{body}.{sig}",
        "payload_bad_base64": f"{head}.{body[:-1]}$.{sig}",
        "signature_bad_base64": f"{head}.{body}.{sig[:-2]}@@",
        "header_not_json": f"{not_json}.{body}.{sig}",
        "payload_not_json": f"{head}.{unterminated}.{sig}",
        "header_json_array": f"{array}.{body}.{sig}",
        "payload_json_string": f"{head}.{bare_string}.{sig}",
        "non_ascii": f"{head}.{body}\u00e9.{sig}",
    }
