"""`sluice run` shows a prompt the command leaves unfinished, on the real stack (OpenBao, the
broker, the session socket), and still never shows the session token that follows it."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from demo.issuer import Issuer
from tests.conftest import REPO, SLUICE, Proc, wait_until
from tests.support.clients import identity_file

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SUB = "system:serviceaccount:demo:app"

# Prints a prompt with no newline (and says so in $ASKED), then waits (up to 3 s) for the test
# to say it saw the prompt, then fetches the session token over the socket and prints it on the prompt's line.
PROMPT = (
    'printf "Password: "; : > "$ASKED"; i=0; '
    'while [ ! -e "$GO" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; '
    '"$PY" -c "$FETCH"'
)
FETCH = """
import os, sys
sys.path.insert(0, {repo!r})
from demo.workload import token_from_socket
token = token_from_socket(os.environ["SLUICE_SOCKET"])["token"]
open(os.environ["SEEN"], "w").write(token)
print(token, flush=True)
"""


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def run_prompt(
    base: str, identity: Path, tmp: Path, flags: list[str], procs: list[subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], Path, Path, Path]:
    """Start `sluice run FLAGS -- sh -c PROMPT`: stdout piped, stderr to a file."""
    go, seen, err = tmp / "go", tmp / "seen-token", tmp / "stderr.log"
    asked = tmp / "asked"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    env = {
        **clean,
        "GO": str(go),
        "SEEN": str(seen),
        "ASKED": str(asked),
        "PY": sys.executable,
        "FETCH": FETCH.format(repo=str(REPO)),
    }
    with err.open("wb") as sink:
        proc = subprocess.Popen(
            [
                *SLUICE,
                "run",
                "--broker",
                base,
                "--identity-token-file",
                str(identity),
                *flags,
                "--",
                "sh",
                "-c",
                PROMPT,
            ],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=sink,
        )
    procs.append(proc)
    return proc, go, seen, err


def read_until(proc: subprocess.Popen[bytes], got: bytes, wanted: bytes, timeout_s: float) -> bytes:
    """Read the command's redacted stdout as it arrives until `wanted` shows or time is up."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while wanted not in got and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.1))
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            got += chunk
    return got


def test_prompt_arrives_before_its_line_ends_and_the_token_never_does(
    start_broker: Callable[[Path], tuple[Proc, str]],
    broker_config: Path,
    short_tmp: Path,
    issuer: Issuer,
    started: list[subprocess.Popen[bytes]],
) -> None:
    """Default `sluice run`: 'Password: ' reaches the reader while the command is still
    waiting on that line; the session token printed after it is a marker."""
    _, base = start_broker(broker_config)
    identity = identity_file(short_tmp, issuer.mint(sub=SUB))
    proc, go, seen, err = run_prompt(base, identity, short_tmp, [], started)
    # The command waits for `go` before going on: the prompt must show while it waits.
    got = read_until(proc, b"", b"Password: ", 20)
    assert got == b"Password: ", err.read_text()
    go.touch()
    got = read_until(proc, got, b"\n", 20)
    assert proc.wait(30) == 0, err.read_text()
    assert proc.stdout is not None
    out = (got + proc.stdout.read()).decode()
    token = seen.read_text()
    assert token.startswith("s.")
    assert out.startswith("Password: [REDACTED:") and out.endswith("]\n")
    assert token not in out and token not in err.read_text()


def test_flush_idle_ms_0_holds_the_prompt_until_its_newline(
    start_broker: Callable[[Path], tuple[Proc, str]],
    broker_config: Path,
    short_tmp: Path,
    issuer: Issuer,
    started: list[subprocess.Popen[bytes]],
) -> None:
    """`--flush-idle-ms 0` turns it off: the prompt only comes with its line's end."""
    _, base = start_broker(broker_config)
    identity = identity_file(short_tmp, issuer.mint(sub=SUB))
    proc, _, seen, err = run_prompt(base, identity, short_tmp, ["--flush-idle-ms", "0"], started)
    wait_until(lambda: (short_tmp / "asked").exists(), "the prompt to be printed")
    assert read_until(proc, b"", b"Password: ", 1.0) == b""  # the command is still waiting
    got = read_until(proc, b"", b"\n", 30)  # it gives up waiting after 3 s and goes on
    assert proc.wait(30) == 0, err.read_text()
    token = seen.read_text()
    assert got.startswith(b"Password: [REDACTED:") and token.encode() not in got
