"""`sluice run`'s leak guard on the real stack: what the command prints never shows a secret."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import REPO, SLUICE, Proc, wait_until
from tests.support.clients import identity_file, sluice_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SUB = "system:serviceaccount:demo:app"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def github_token() -> str:
    """A classic GitHub token with a valid CRC32 checksum (base62 of the body's CRC32)."""
    body = "".join(secrets.choice(BASE62) for _ in range(30))
    crc, digits = zlib.crc32(body.encode()), ""
    while crc:
        crc, rest = divmod(crc, 62)
        digits = BASE62[rest] + digits
    return "ghp_" + body + digits.rjust(6, "0")


# The command fetches the session token over $SLUICE_SOCKET and "accidentally" prints it in
# every form logs take it; it keeps a copy in a file only so the test can check revocation.
LEAKY = """
import base64, json, os, sys, urllib.parse
sys.path.insert(0, {repo!r})
from demo.workload import token_from_socket
token = token_from_socket(os.environ["SLUICE_SOCKET"])["token"]
open({out!r}, "w").write(token)
print("raw:", token, flush=True)
print("json:", json.dumps({{"auth": {{"client_token": token}}}}), flush=True)
print("url: https://ci.example/cb?t=" + urllib.parse.quote(token, safe=""), flush=True)
print("basic:", base64.b64encode(("ci:" + token).encode()).decode(), flush=True)
print("stderr too:", token, file=sys.stderr, flush=True)
print("provider:", os.environ["PROVIDER_SECRET"], file=sys.stderr, flush=True)
print("done", flush=True)
sys.exit(5)
"""


def forms(token: str) -> list[str]:
    return [
        token,
        json.dumps(token)[1:-1],
        quote(token, safe=""),
        base64.b64encode(("ci:" + token).encode()).decode(),
        base64.b64encode(token.encode()).decode().rstrip("="),
    ]


def test_run_masks_the_session_token_in_every_form_and_revokes_it(
    start_broker: Callable[[Path], tuple[Proc, str]],
    sluice_proc: Callable[..., Proc],
    broker_config: Path,
    short_tmp: Path,
    issuer: Issuer,
    openbao: DevServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Raw, JSON, URL-encoded and base64 forms of the token and a GitHub token are all masked;
    the command's exit code is kept and the token is dead afterwards."""
    _, base = start_broker(broker_config)
    identity = identity_file(short_tmp, issuer.mint(sub=SUB))
    provider = github_token()
    monkeypatch.setenv("PROVIDER_SECRET", provider)  # sluice_proc passes non-SLUICE_ env on
    out = short_tmp / "seen-token"
    script = LEAKY.format(repo=str(REPO), out=str(out))
    proc = sluice_run(sluice_proc, base, identity, sys.executable, "-c", script)
    assert proc.popen.wait(60) == 5, proc.output()
    output = proc.output()
    token = out.read_text()
    assert token.startswith("s.")
    for form in forms(token):
        assert form not in output
    assert provider not in output
    assert identity.read_text() not in output
    assert "raw: [REDACTED:" in output
    assert (
        "basic: [REDACTED:known-value]" in output or "basic: Y2k6[REDACTED:known-value]" in output
    )
    assert "provider: [REDACTED:github-personal-access-token]" in output
    assert "done" in output  # the rest of the output got through
    assert openbao.lookup_status(token) == 403  # revoked at exit


def _run(
    base: str, identity: Path, *flags_then_cmd: str, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """`sluice run` with its stdout and stderr captured separately."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    return subprocess.run(
        [*SLUICE, "run", "--broker", base, "--identity-token-file", str(identity), *flags_then_cmd],
        cwd=REPO,
        env={**clean, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )


# 300 numbered lines on stdout; a provider secret on stderr in the middle; exit 0.
NUMBERED = """
import os, sys
for i in range(1, 301):
    print(f"line {i}", flush=i % 50 == 0)
    if i == 150:
        sys.stdout.flush()
        print("oops", os.environ["PROVIDER_SECRET"], file=sys.stderr, flush=True)
"""


def test_block_mode_withholds_lines_keeps_streams_apart_and_exits_3(
    start_broker: Callable[[Path], tuple[Proc, str]],
    broker_config: Path,
    short_tmp: Path,
    issuer: Issuer,
) -> None:
    """Block mode: the secret's line is withheld, stdout keeps its order on its own stream,
    and a command that succeeded makes `sluice run` exit 3 (lines were withheld)."""
    _, base = start_broker(broker_config)
    identity = identity_file(short_tmp, issuer.mint(sub=SUB))
    provider = github_token()
    done = _run(
        base,
        identity,
        "--redact-mode",
        "block",
        "--",
        sys.executable,
        "-c",
        NUMBERED,
        env={"PROVIDER_SECRET": provider},
    )
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 3, stderr
    assert stdout.splitlines() == [f"line {i}" for i in range(1, 301)]
    assert provider not in stdout + stderr
    assert "[WITHHELD:github-personal-access-token]" in stderr
    assert "withheld 1 line(s)" in stderr


def test_report_mode_and_no_redact_pass_output_through(
    start_broker: Callable[[Path], tuple[Proc, str]],
    broker_config: Path,
    short_tmp: Path,
    issuer: Issuer,
) -> None:
    """Report mode passes the output on and names the finding without its value; --no-redact
    is an explicit opt-out that leaves the output untouched."""
    _, base = start_broker(broker_config)
    identity = identity_file(short_tmp, issuer.mint(sub=SUB))
    provider = github_token()
    cmd = ["--", sys.executable, "-c", "import os; print('key', os.environ['PROVIDER_SECRET'])"]
    report = _run(
        base, identity, "--redact-mode", "report", *cmd, env={"PROVIDER_SECRET": provider}
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.decode() == f"key {provider}\n"
    findings = [
        json.loads(line.removeprefix("sluice: finding "))
        for line in report.stderr.decode().splitlines()
        if line.startswith("sluice: finding ")
    ]
    assert [(f["file"], f["line"], f["rule"]) for f in findings] == [
        ("stdout", 1, "github-personal-access-token")
    ]
    assert provider not in report.stderr.decode()

    identity = identity_file(
        short_tmp, issuer.mint(sub=SUB)
    )  # a fresh JWT: the broker refuses replays
    plain = _run(base, identity, "--no-redact", *cmd, env={"PROVIDER_SECRET": provider})
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.decode() == f"key {provider}\n"


TRAPS_TERM = """
import os, signal, sys, time
def stop(signum, frame):
    print("got TERM; provider", os.environ["PROVIDER_SECRET"], flush=True)
    sys.exit(9)
signal.signal(signal.SIGTERM, stop)
print("started", flush=True)
time.sleep(30)
"""


def test_sigterm_reaches_the_command_and_its_last_words_are_redacted(
    start_broker: Callable[[Path], tuple[Proc, str]],
    sluice_proc: Callable[..., Proc],
    broker_config: Path,
    short_tmp: Path,
    issuer: Issuer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM to `sluice run` is forwarded; what the command prints while stopping still goes
    through the redactor, and its exit code is kept."""
    _, base = start_broker(broker_config)
    identity = identity_file(short_tmp, issuer.mint(sub=SUB))
    provider = github_token()
    monkeypatch.setenv("PROVIDER_SECRET", provider)
    proc = sluice_run(sluice_proc, base, identity, sys.executable, "-c", TRAPS_TERM)
    wait_until(lambda: "started" in proc.output(), "the command to start")
    assert proc.stop(signal.SIGTERM) == 9, proc.output()
    output = proc.output()
    assert "got TERM; provider [REDACTED:github-personal-access-token]" in output
    assert provider not in output
