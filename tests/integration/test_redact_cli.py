"""`sluice redact` as a log pipeline runs it: a real process, bytes on stdin and stdout."""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.scanners.samples import (
    aws_key_id,
    aws_secret,
    ec_private_key,
    github_pat,
    slack_webhook,
)

_SCRIPT = Path(sys.executable).parent / "sluice"
SLUICE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "sluice_cli"]


def redact(data: bytes, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*SLUICE, "redact", *args], input=data, capture_output=True, timeout=60, check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def leaky_log() -> tuple[bytes, list[str]]:
    token, key_id, secret, hook, pem = github_pat(), aws_key_id(), aws_secret(), slack_webhook(), ec_private_key()
    text = (
        '{"level":"info","msg":"starting","version":"1.4.2"}\n'
        f"+ git clone https://x-access-token:{token}@github.com/acme/app.git\n"
        f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n"
        f'{{"level":"warn","webhook":"{hook}","latency_ms":12}}\n'
        f"{pem}"
        "Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n"
        "request_id=6f1c2b9e-6a3d-4a39-9f0e-2b8c7d6e5f40 sha=3f786850e387550fdab836ed7e6dc881de23001b\n"
    )
    return text.encode(), [token, key_id, secret, hook]


def test_private_key_redacted_as_one_block() -> None:
    """A PEM key becomes one marker plus its newlines: no key line survives."""
    from scanners.rules import rules_by_id

    if "private-key-ec" not in rules_by_id():
        pytest.skip("the catalogue has no private-key rules registered yet")
    pem = ec_private_key()
    result = redact(f"before\n{pem}after\n".encode())
    out = result.stdout.decode()
    assert out == "before\n[REDACTED:private-key-ec]" + "\n" * pem.count("\n") + "after\n"


def test_redacts_secrets_and_keeps_lines(leaky_log: tuple[bytes, list[str]]) -> None:
    """Secrets are gone, line count and clean lines are unchanged, exit 0."""
    data, values = leaky_log
    result = redact(data)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    for value in values:
        assert value not in out
    assert out.count("\n") == data.count(b"\n")
    assert "[REDACTED:github-personal-access-token]@github.com" in out
    assert "sha=3f786850e387550fdab836ed7e6dc881de23001b" in out
    assert '{"level":"info","msg":"starting","version":"1.4.2"}\n' in out


def test_bytes_pass_through_unchanged() -> None:
    """Arbitrary bytes (invalid UTF-8, NUL, CR) without secrets come out byte for byte."""
    data = bytes(range(256)) * 40 + b"\xff\xfe caf\xc3\xa9 \xe2\x82\n\r\n" + os.urandom(5000)
    result = redact(data)
    assert result.returncode == 0
    assert result.stdout == data


def test_block_mode_withholds_and_fails(leaky_log: tuple[bytes, list[str]]) -> None:
    """Block mode withholds lines holding secrets and exits 1; a clean stream exits 0."""
    data, values = leaky_log
    result = redact(data, "--mode", "block")
    assert result.returncode == 1
    out = result.stdout.decode()
    assert all(value not in out for value in values)
    assert out.count("\n") == data.count(b"\n")
    assert "[WITHHELD:" in out and b"withheld" in result.stderr
    clean = redact(b"all quiet\nnothing here\n", "--mode", "block")
    assert (clean.returncode, clean.stdout) == (0, b"all quiet\nnothing here\n")


def test_report_mode_passes_through_and_reports_json_lines(
    leaky_log: tuple[bytes, list[str]], tmp_path: Path
) -> None:
    """Report mode copies stdin, findings go to stderr (or a file) as JSON lines without values."""
    data, values = leaky_log
    result = redact(data, "--mode", "report")
    assert result.returncode == 0 and result.stdout == data
    records = [json.loads(line) for line in result.stderr.decode().splitlines()]
    assert {r["rule"] for r in records} >= {"github-personal-access-token", "aws-access-key-id", "slack-webhook-url"}
    lines = data.decode().split("\n")
    for r in records:
        assert set(r) == {"file", "line", "start", "end", "rule", "fingerprint"}
        assert lines[r["line"] - 1][r["start"] : r["end"]] in values or r["rule"].startswith("private-key")
    assert all(v not in result.stderr.decode() for v in values)
    target = tmp_path / "findings.jsonl"
    again = redact(data, "--mode", "report", "--report-file", str(target))
    assert again.stderr == b""
    assert len(target.read_text().splitlines()) == len(records)


def test_known_value_from_env_is_redacted_in_every_form() -> None:
    """A value named with --known-env is masked plain, base64-encoded and JSON-escaped."""
    value = "opaque/Val+9f3kQ2"
    data = (f"a {value}\nb {base64.b64encode(value.encode()).decode()}\nc {json.dumps(value)}\n").encode()
    result = redact(data, "--known-env", "DEPLOY_KEY", env={"DEPLOY_KEY": value})
    assert result.returncode == 0
    assert result.stdout.decode().count("[REDACTED:known-value]") == 3


def test_short_known_value_is_a_config_error_without_the_value() -> None:
    """A known value too short to mask is refused (exit 2), and the message hides it."""
    result = redact(b"x\n", "--known-env", "FLAG", env={"FLAG": "true"})
    assert result.returncode == 2
    assert b"$FLAG" in result.stderr and b"true" not in result.stderr


def test_lines_flow_before_end_of_input() -> None:
    """A completed line is emitted while the input stays open (low latency in a pipeline)."""
    proc = subprocess.Popen([*SLUICE, "redact"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"token {github_pat()}\n".encode())
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "no output before end of input"
        line = proc.stdout.readline()
        assert line == b"token [REDACTED:github-personal-access-token]\n"
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=20)
        proc.stdout.close()  # type: ignore[union-attr]


def test_redact_stays_light(tmp_path: Path) -> None:
    """`sluice redact` loads no broker, aiohttp or hvac code and stays small in memory once its
    compiled rule database is cached (the first run compiles it, which costs more)."""
    probe = (
        "import sys, sluice_cli\n"
        "sys.argv = ['sluice', 'redact']\n"
        "try:\n    sluice_cli.main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aiohttp', 'hvac', 'broker', 'sidecar', 'jwt', 'psycopg', 'prometheus_client'))\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (pytest).
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "sys.stderr.write(repr((heavy, int(hwm))))\n"
    )
    env = {**os.environ, "SLUICE_CACHE_DIR": str(tmp_path)}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-c", probe], input=b"hello\n", capture_output=True, timeout=60, env=env,
            check=True,
        )
    heavy, rss_kb = eval(result.stderr.decode().strip().splitlines()[-1])
    assert heavy == []
    assert rss_kb < 45_000, rss_kb
