"""Decisions are audited, counted and rate limited; nothing secret reaches any of them."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.cli import broker as broker_cli
from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import Proc, free_port, wait_until
from tests.support.exchange import MakeBroker, broker_yaml, make_broker

__all__ = ["make_broker"]
pytestmark = pytest.mark.integration
SUB = "system:serviceaccount:demo:app"
RULES = """\
rules:
  - name: app
    issuer: trusted
    match: {sub: "system:serviceaccount:demo:*"}
    policies: [sluice-none]
    ttl: 5m
  - name: single
    issuer: trusted
    match: {sub: "system:serviceaccount:single:*"}
    acl: 'path "secret/data/single/{claims.ns}/*" { capabilities = ["read"] }'
    max_sessions_per_subject: 1
"""


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample; 0 when the series does not exist yet."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_every_decision_is_audited_with_subject_issuer_rule_session_and_accessor(
    make_broker: MakeBroker, issuer: Issuer
) -> None:
    """An allow and a deny each leave one decision record; the allow also an issue record."""
    broker = await make_broker(RULES)
    status, body, _ = await broker.exchange(issuer.mint(sub=SUB))
    assert status == 201
    assert await broker.code_of(issuer.mint(sub="system:serviceaccount:other:x")) == (
        "no_matching_rule"
    )
    records = broker.audit_records()
    allow, deny = [r for r in records if r["event"] == "decision"]
    assert allow | {"ts": 0, "seq": 0, "prev": 0, "hash": 0} == {
        "event": "decision", "result": "allow", "reason": "ok", "issuer": "trusted",
        "subject": SUB, "rule": "app", "session": body["session_id"],
        "accessor": body["accessor"], "ts": 0, "seq": 0, "prev": 0, "hash": 0,
    }  # fmt: skip
    assert (deny["result"], deny["reason"], deny["rule"]) == ("deny", "no_matching_rule", None)
    issue = next(r for r in records if r["event"] == "issue")
    assert issue["policies"] == ["sluice-none"] and issue["accessor"] == body["accessor"]
    assert records[0]["event"] == "startup"


async def test_metrics_count_exchanges_by_issuer_result_and_reason(
    make_broker: MakeBroker, issuer: Issuer
) -> None:
    """/metrics exposes counters, the latency histogram, JWKS refreshes and active sessions."""
    broker = await make_broker(RULES)
    for _ in range(2):
        assert (await broker.exchange(issuer.mint(sub=SUB)))[0] == 201
    await broker.exchange(issuer.mint(sub=SUB, aud="nope"))
    await broker.exchange("not-a-jwt")
    text = await broker.metrics()
    ok = {"issuer": "trusted", "result": "allowed", "reason": "ok"}
    assert metric(text, "sluice_exchanges_total", **ok) == 2
    assert metric(text, "sluice_exchanges_total", reason="audience_mismatch") == 1
    assert metric(text, "sluice_exchanges_total", issuer="unknown", reason="invalid_token") == 1
    assert metric(text, "sluice_exchange_duration_seconds_count") == 4
    assert metric(text, "sluice_jwks_refreshes_total", issuer="trusted", result="ok") >= 1
    assert metric(text, "sluice_sessions_active") >= 2
    timed = metric(text, "sluice_vault_request_duration_seconds_count", operation="create_token")
    assert timed >= 2
    # label values come from fixed sets: no subject, token or free text ever becomes a label
    labels = set(re.findall(r'(\w+)="', text))
    assert labels <= {"issuer", "result", "reason", "operation", "cause", "le"}


async def test_per_subject_rate_limit_answers_429_with_retry_after(
    make_broker: MakeBroker, issuer: Issuer
) -> None:
    """Past the subject's burst: 429 rate_limited, Retry-After, no session; others unaffected."""
    broker = await make_broker(
        RULES, "rate_limits: {subject: {rate_per_s: 0.1, burst: 2}, issuer: off}\n"
    )
    for _ in range(2):
        assert (await broker.exchange(issuer.mint(sub=SUB)))[0] == 201
    before = await broker.counts()
    status, body, headers = await broker.exchange(issuer.mint(sub=SUB))
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert 1 <= int(headers["Retry-After"]) <= 10
    assert await broker.counts() == before
    other = "system:serviceaccount:demo:other"
    assert (await broker.exchange(issuer.mint(sub=other)))[0] == 201


async def test_per_issuer_rate_limit(make_broker: MakeBroker, issuer: Issuer) -> None:
    """The issuer bucket holds every subject of that issuer together."""
    broker = await make_broker(
        RULES, "rate_limits: {subject: off, issuer: {rate_per_s: 0.1, burst: 3}}\n"
    )
    codes = [
        (await broker.exchange(issuer.mint(sub=f"system:serviceaccount:demo:w{i}")))[0]
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]


async def test_max_sessions_per_subject(make_broker: MakeBroker, issuer: Issuer) -> None:
    """A second concurrent session is 429 too_many_sessions; ending the first makes room."""
    broker = await make_broker(RULES)
    sub = "system:serviceaccount:single:web"
    status, first, _ = await broker.exchange(issuer.mint(sub=sub, ns="n1"))
    assert status == 201
    status, body, headers = await broker.exchange(issuer.mint(sub=sub, ns="n1"))
    assert (status, body["error"]["code"]) == (429, "too_many_sessions")
    assert "Retry-After" in headers
    resp = await broker.client.delete(
        f"/v1/sessions/{first['session_id']}",
        headers={"Authorization": f"Bearer {first['token']}"},
    )
    assert resp.status in (202, 204)
    assert (await broker.exchange(issuer.mint(sub=sub, ns="n1")))[0] == 201


async def test_audit_log_verifies_and_names_a_tampered_line(
    make_broker: MakeBroker, issuer: Issuer, tmp_path: Path
) -> None:
    """`sluice broker audit-verify` accepts the broker's log and names an edited record."""
    broker = await make_broker(RULES)
    await broker.exchange(issuer.mint(sub=SUB))
    await broker.exchange(issuer.mint(sub="nobody"))
    broker.audit_records()
    runner = CliRunner()
    result = runner.invoke(broker_cli, ["audit-verify", str(broker.audit_path)])
    assert result.exit_code == 0, result.output
    lines = broker.audit_path.read_text().splitlines()
    record = json.loads(lines[2])
    record["subject"] = "someone-else"
    lines[2] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(lines) + "\n")
    result = runner.invoke(broker_cli, ["audit-verify", str(forged)])
    assert result.exit_code == 1 and "line 3" in result.output


def test_leak_canary_on_a_real_broker_process(
    sluice_proc: Callable[..., Proc],
    short_tmp: Path,
    openbao: DevServer,
    broker_vault_token_file: Path,
    issuer: Issuer,
) -> None:
    """Through a real `sluice broker serve`: no JWT or session token in its output or audit log,
    even when aiohttp itself logs a header line that is too long."""
    port = free_port()
    config = short_tmp / "broker.yaml"
    config.write_text(
        f"listen: {{host: 127.0.0.1, port: {port}}}\n"
        + broker_yaml(openbao, broker_vault_token_file, short_tmp, [("trusted", issuer.url)], RULES)
    )
    proc = sluice_proc("broker", "serve", "--config", str(config), "--log-level", "DEBUG")
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: proc.popen.poll() is None and _status(base + "/healthz") == 200, "broker")
    sent = [
        issuer.mint(sub=SUB),
        issuer.mint(sub=SUB, aud="other"),
        issuer.mint(sub=SUB, pad="x" * 20_000),  # token_too_large
        issuer.mint(sub=SUB, pad="y" * 70_000),  # beyond the header limit: aiohttp refuses it
    ]
    bodies = [_post(base, jwt) for jwt in sent]
    issued = json.loads(bodies[0])["token"]
    assert json.loads(bodies[2])["error"]["code"] == "token_too_large"  # header limit raised
    # aiohttp's own 400 for the 70 KB header quotes its first bytes back to that same caller
    # only; what must stay clean is what anyone else can read: logs, audit, other answers.
    bodies.pop()
    bodies.append(urllib.request.urlopen(base + "/metrics", timeout=5).read().decode())
    proc.stop()
    output = proc.output()
    assert "Bad HTTP request" in output or "LineTooLong" in output or "400" in output
    audit = (short_tmp / "audit.jsonl").read_text()
    for secret in [*sent, issued]:
        for needle in {secret, *(p for p in secret.split(".") if len(p) >= 16)}:
            assert needle not in output, "a credential reached the broker's log"
            assert needle not in audit, "a credential reached the audit log"
            assert all(needle not in b for b in bodies[1:]), "a credential reached a body"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _post(base: str, jwt: str) -> str:
    request = urllib.request.Request(
        base + "/v1/sessions", method="POST", headers={"Authorization": f"Bearer {jwt}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return str(resp.read().decode())
    except urllib.error.HTTPError as exc:
        return str(exc.read().decode())
    except OSError:  # the server may close the connection on a header it refuses
        return ""
