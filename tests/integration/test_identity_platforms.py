"""End to end with identities no one here signed by hand: OpenBao's own OIDC provider, and
GitHub Actions / GitLab CI shaped tokens checked against a static JWKS file."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.cli import broker as broker_cli
from demo.issuer import SigningKey
from demo.openbao import DevServer
from tests.support import tokens
from tests.support.bao_oidc import make_bao_oidc_issuer
from tests.support.exchange import MakeBroker, make_broker

__all__ = ["make_broker"]
pytestmark = pytest.mark.integration

BAO_RULES = """\
rules:
  - name: previews
    issuer: bao
    match:
      kubernetes.io.namespace: {regex: "preview-[0-9a-f]+"}
      kubernetes.io.serviceaccount.name: web
    acl: |
      path "secret/data/previews/{claims.kubernetes.io.namespace}/*" {
        capabilities = ["read"]
      }
    ttl: 5m
"""


def read(openbao: DevServer, token: str, path: str) -> int:
    return openbao.api("GET", f"secret/data/{path}", token=token)[0]


async def test_openbao_oidc_identity_opens_a_session_scoped_by_its_template_claims(
    make_broker: MakeBroker, openbao: DevServer, tmp_path: Path
) -> None:
    """An OpenBao-minted JWT (discovery, RS256, its own key) gets a session that reads its own
    namespace only; ending the session removes its per-session policy."""
    ns = f"preview-{secrets.token_hex(3)}"
    bao = make_bao_oidc_issuer(
        openbao.addr, openbao.root_token, metadata={"namespace": ns, "service_account": "web"}
    )
    openbao.kv_put(f"previews/{ns}/db", {"password": "mine"})
    openbao.kv_put("previews/preview-other/db", {"password": "theirs"})
    broker = await make_broker(
        BAO_RULES,
        issuers=[
            (f"{{name: bao, kind: kubernetes, issuer: '{bao.issuer}', audiences: [sluice]}}", "")
        ],
    )
    jwt = bao.fetch_token()
    status, body, _ = await broker.exchange(jwt)
    assert status == 201, body
    token = body["token"]
    assert read(openbao, token, f"previews/{ns}/db") == 200
    assert read(openbao, token, "previews/preview-other/db") == 403
    assert read(openbao, token, "cubbyhole/x") == 403

    resp = await broker.client.delete(
        f"/v1/sessions/{body['session_id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status in (202, 204)
    deadline = time.monotonic() + 5
    while openbao.lookup_status(token) != 403 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert openbao.lookup_status(token) == 403
    policies = openbao.ok("LIST", "sys/policies/acl")["data"]["keys"]
    assert not [p for p in policies if p == f"sluice-session-{body['session_id'].lower()}"]

    # explain verifies the same kind of token for real and creates nothing
    token_file = tmp_path / "id.jwt"
    token_file.write_text(bao.fetch_token())
    before = await broker.counts()
    result = await asyncio.to_thread(  # explain runs its own event loop
        CliRunner().invoke,
        broker_cli,
        ["explain", "--config", str(broker.config_path), "--token-file", str(token_file)],
    )
    assert result.exit_code == 0, result.output
    assert "verified for real against issuer bao" in result.output
    assert "1. previews: MATCH" in result.output
    assert f'path "secret/data/previews/{ns}/*"' in result.output
    assert await broker.counts() == before
    assert token_file.read_text() not in result.output
    broker.assert_no_leaks("")


PLATFORM_RULES = """\
rules:
  - name: deploy-prod
    issuer: github
    match:
      repository_owner: octo-org
      ref: refs/heads/main
      environment: production
      event_name: [push, workflow_dispatch]
    policies: [sluice-none]
    ttl: 5m
  - name: gitlab-protected
    issuer: gitlab
    match:
      project_path: "my-group/*"
      ref_protected: "true"
      environment: production
    acl: 'path "secret/data/ci/{claims.namespace_path}/{claims.project_id}/*" { capabilities = ["read"] }'
    ttl: 5m
"""


@pytest.fixture
def platform_keys(tmp_path: Path) -> tuple[SigningKey, Path]:
    key = SigningKey.rsa()
    path = tmp_path / "platform-jwks.json"
    path.write_text(json.dumps({"keys": [key.public_jwk()]}))
    return key, path


async def test_github_and_gitlab_tokens_against_realistic_rules(
    make_broker: MakeBroker, platform_keys: tuple[SigningKey, Path]
) -> None:
    """Documented GitHub/GitLab claims: main + production passes; a branch, another owner,
    an unprotected ref or a namespace path with a slash in the ACL are refused."""
    key, jwks = platform_keys
    broker = await make_broker(
        PLATFORM_RULES,
        issuers=[
            (f"{{name: github, kind: github, audiences: [sluice], jwks_file: '{jwks}'}}", ""),
            (
                (
                    "{name: gitlab, kind: gitlab, issuer: 'https://gitlab.example.com',"
                    f" audiences: [sluice], jwks_file: '{jwks}'}}"
                ),
                "",
            ),
        ],
    )
    now = int(time.time())

    def gh(**kw: object) -> str:
        claims = tokens.github_actions_claims(now=now, audience="sluice", environment="production")
        return tokens.sign(claims | kw, key.private, key.kid)

    def gl(**kw: object) -> str:
        claims = tokens.gitlab_ci_claims(now=now, issuer="https://gitlab.example.com")
        return tokens.sign(claims | kw, key.private, key.kid)

    assert (await broker.exchange(gh()))[0] == 201
    assert await broker.code_of(gh(ref="refs/heads/feature")) == "no_matching_rule"
    assert await broker.code_of(gh(repository_owner="evil-org")) == "no_matching_rule"
    assert await broker.code_of(gh(event_name="pull_request")) == "no_matching_rule"
    assert await broker.code_of(gh(repository=None)) == "invalid_claims"  # kind: github
    assert (await broker.exchange(gl()))[0] == 201
    # a namespace_path with a '/' would add a path segment: refused, not widened
    assert await broker.code_of(gl(namespace_path="my-group/sub")) == "unsafe_claim_value"
    assert await broker.code_of(gl(ref_protected="false")) == "no_matching_rule"
    broker.assert_no_leaks("")
