"""A rule's token options reach OpenBao exactly: policies, per-session ACL, ttl, max_ttl, uses."""

from __future__ import annotations

import secrets

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.support.exchange import MakeBroker, make_broker

__all__ = ["make_broker"]
pytestmark = pytest.mark.integration


async def test_token_carries_the_rules_limits_and_its_own_policy(
    make_broker: MakeBroker, issuer: Issuer, openbao: DevServer
) -> None:
    """num_uses, explicit_max_ttl and the policy list are what the rule says; uses run out."""
    team = f"team{secrets.token_hex(3)}"
    openbao.kv_put(f"teams/{team}/db", {"password": "p"})
    broker = await make_broker(
        "rules:\n"
        "  - name: limited\n"
        "    issuer: trusted\n"
        "    match: {team: {regex: 'team[0-9a-f]{6}'}}\n"
        '    acl: \'path "secret/data/teams/{claims.team}/*" { capabilities = ["read"] }\'\n'
        "    ttl: 2m\n"
        "    max_ttl: 4m\n"
        "    num_uses: 2\n"
    )
    status, body, _ = await broker.exchange(issuer.mint(sub="svc", team=team))
    assert status == 201, body
    info = openbao.ok("POST", "auth/token/lookup", {"token": body["token"]})["data"]
    session_policy = f"sluice-session-{body['session_id'].lower()}"
    assert info["policies"] == [session_policy]
    assert (info["num_uses"], info["explicit_max_ttl"], info["renewable"]) == (2, 240, False)
    assert 0 < info["ttl"] <= 120
    rendered = openbao.ok("GET", f"sys/policies/acl/{session_policy}")["data"]["policy"]
    assert rendered == f'path "secret/data/teams/{team}/*" {{ capabilities = ["read"] }}'
    # root's lookup spent none of the token's uses: two reads work, the third is refused
    statuses = [
        openbao.api("GET", f"secret/data/teams/{team}/db", token=body["token"])[0] for _ in range(3)
    ]
    assert statuses == [200, 200, 403]
