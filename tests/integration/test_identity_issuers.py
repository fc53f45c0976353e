"""Issuers through the broker's API: an unreachable issuer is a quick 503, a rotated key is
picked up without a restart, and several issuers are kept apart."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from demo.issuer import Issuer, SigningKey
from tests.support.exchange import MakeBroker, make_broker

__all__ = ["make_broker"]
pytestmark = pytest.mark.integration
SUB = "system:serviceaccount:demo:app"
RULES = """\
rules:
  - name: app
    issuer: rotating
    match: {sub: "system:serviceaccount:demo:*"}
    policies: [sluice-none]
  - name: stranger-app
    issuer: stranger
    match: {sub: "system:serviceaccount:demo:*"}
    policies: [sluice-none]
"""


@pytest.fixture
def rotating() -> Iterator[Issuer]:
    """An issuer of this test's own, whose key set the test changes."""
    with Issuer(keys=[SigningKey.rsa("first")]) as running:
        yield running


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket closes


async def test_unreachable_issuer_is_503_issuer_unavailable_quickly(
    make_broker: MakeBroker, rotating: Issuer
) -> None:
    """Discovery on a closed port: 503 issuer_unavailable in well under the timeout, audited."""
    down = f"http://127.0.0.1:{closed_port()}"
    broker = await make_broker(
        RULES.replace("issuer: stranger", "issuer: down"),
        issuers=[("rotating", rotating.url), ("down", down)],
    )
    token = rotating.mint(sub=SUB, iss=down)
    started = time.monotonic()
    status, body, _ = await broker.exchange(token)
    assert (status, body["error"]["code"]) == (503, "issuer_unavailable")
    assert time.monotonic() - started < 5
    decision = [r for r in broker.audit_records() if r["event"] == "decision"][-1]
    assert (decision["result"], decision["reason"], decision["issuer"]) == (
        "error", "issuer_unavailable", "down",
    )  # fmt: skip
    assert 'sluice_jwks_refreshes_total{issuer="down",result="error"}' in await broker.metrics()


async def test_rotated_signing_key_is_used_without_restart(
    make_broker: MakeBroker, rotating: Issuer
) -> None:
    """The issuer swaps its key; after the refetch interval the new kid is accepted."""
    broker = await make_broker(
        RULES.split("  - name: stranger-app")[0], issuers=[("rotating", rotating.url)]
    )
    assert (await broker.exchange(rotating.mint(sub=SUB)))[0] == 201
    rotating.keys = [SigningKey.ec("second")]
    fresh = rotating.mint(sub=SUB)
    deadline = time.monotonic() + 5  # jwks_min_refresh_s is 1 in these configs
    status = 0
    while time.monotonic() < deadline:
        status, body, _ = await broker.exchange(rotating.mint(sub=SUB))
        if status == 201:
            break
        assert body["error"]["code"] == "unknown_key"
        await asyncio.sleep(0.3)
    assert status == 201
    assert (await broker.exchange(fresh))[0] == 201


async def test_each_issuer_is_matched_only_by_its_own_rules(
    make_broker: MakeBroker, rotating: Issuer, stranger_issuer: Issuer
) -> None:
    """Same subject from two issuers: each token gets its own issuer's rule."""
    broker = await make_broker(
        RULES, issuers=[("rotating", rotating.url), ("stranger", stranger_issuer.url)]
    )
    for issuer, rule in ((rotating, "app"), (stranger_issuer, "stranger-app")):
        status, _, _ = await broker.exchange(issuer.mint(sub=SUB))
        assert status == 201
        assert [r for r in broker.audit_records() if r["event"] == "decision"][-1]["rule"] == rule
