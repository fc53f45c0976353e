"""A rule's ``max_sessions_per_subject`` on the embedded SQLite store (one replica): a burst
of concurrent opens for one subject yields exactly the limit, on a real OpenBao."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from demo.issuer import Issuer
from tests.support.exchange import MakeBroker, make_broker

__all__ = ["make_broker"]
pytestmark = pytest.mark.integration
LIMIT = 3
BURST = 20
SUB = "system:serviceaccount:limit:worker"
OTHER = "system:serviceaccount:limit:other"
RULES = f"""\
rules:
  - name: limited
    issuer: trusted
    match: {{sub: "system:serviceaccount:limit:*"}}
    policies: [sluice-none]
    ttl: 5m
    max_sessions_per_subject: {LIMIT}
"""


async def test_a_burst_for_one_subject_opens_exactly_the_limit(
    make_broker: MakeBroker, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """20 concurrent opens: 3 × 201 and 17 × 429; another subject and a freed place work."""
    broker = await make_broker(RULES)
    tokens = [issuer.mint(sub=SUB) for _ in range(BURST)] + [issuer.mint(sub=OTHER)]
    answers = await asyncio.gather(*(broker.exchange(t) for t in tokens))
    mine, other = answers[:BURST], answers[BURST:]
    opened = [body for status, body, _ in mine if status == 201]
    refused = Counter((s, body["error"]["code"]) for s, body, _ in mine if s != 201)
    assert len(opened) == LIMIT, refused
    assert refused == {(429, "too_many_sessions"): BURST - LIMIT}
    assert all("Retry-After" in headers for s, _, headers in mine if s == 429)
    assert [status for status, _, _ in other] == [201]
    assert await broker.store.count() == LIMIT + 1  # a refusal writes no row
    assert all(broker.openbao.lookup_status(body["token"]) == 200 for body in opened)

    # A refused token was not spent: once a place is free, the same token opens a session.
    retry = tokens[next(i for i, (s, _, _) in enumerate(mine) if s == 429)]
    first = opened[0]
    resp = await broker.client.delete(
        f"/v1/sessions/{first['session_id']}", headers={"Authorization": f"Bearer {first['token']}"}
    )
    assert resp.status == 204
    assert broker.openbao.lookup_status(first["token"]) == 403
    assert (await broker.exchange(retry))[0] == 201
    assert await broker.code_of(issuer.mint(sub=SUB)) == "too_many_sessions"
    assert await broker.code_of(retry) == "replayed_token"  # now spent: a replay, full or not
    assert await broker.store.count_active(SUB, issuer.url) == LIMIT
    broker.assert_no_leaks(caplog.text)
