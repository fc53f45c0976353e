"""`sluice redact --flush-idle-ms` in a pipe: a prompt shows while its line is unfinished, a
secret arriving in pieces never does."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.conftest import SLUICE
from tests.unit.scanners.samples import ALNUM, github_pat, rand


class Pipe:
    """`sluice redact ARGS` with stdin and stdout pipes, read as output arrives."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [*SLUICE, "redact", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.seen = b""

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def read_for(self, seconds: float) -> bytes:
        """Whatever arrives within `seconds`."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                self.seen += chunk
        return self.seen

    def read_until(self, wanted: bytes, timeout_s: float = 20.0) -> bytes:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while wanted not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.05)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                self.seen += chunk
        assert wanted in self.seen, f"{wanted!r} never arrived; got {self.seen!r}"
        return self.seen

    def finish(self) -> bytes:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.seen += self.proc.stdout.read()
        assert self.proc.wait(20) == 0
        return self.seen

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def pipes() -> Iterator[list[Pipe]]:
    started: list[Pipe] = []
    yield started
    for pipe in started:
        pipe.close()


def test_prompt_shows_and_split_secrets_stay_hidden(pipes: list[Pipe]) -> None:
    """The prompt arrives before its line ends; a password and a known value sent in pieces
    with pauses between them only ever appear as markers."""
    password, known = rand(ALNUM, 16), rand(ALNUM, 24)
    pipe = Pipe("--flush-idle-ms", "100", "--known-env", "DEPLOY_KEY", env={"DEPLOY_KEY": known})
    pipes.append(pipe)
    pipe.send("Password: ")
    assert pipe.read_until(b"Password: ") == b"Password: "
    pipe.send(password + " and key " + known[:10])
    shown = pipe.read_until(b" and key ")
    assert shown == b"Password: [REDACTED:generic-password-unquoted] and key "
    assert pipe.read_for(0.5) == shown  # the known value's first part stays held
    pipe.send(known[10:] + " end\n\r 10% |#   |\r 20% |##  |\r")
    progress = pipe.read_until(b" 20% |##  |\r")  # redraws stream: no newline, no idle wait
    assert progress.endswith(b"[REDACTED:known-value] end\n\r 10% |#   |\r 20% |##  |\r")
    out = pipe.finish().decode()
    assert out == (
        "Password: [REDACTED:generic-password-unquoted] and key [REDACTED:known-value] end\n"
        "\r 10% |#   |\r 20% |##  |\r"
    )
    assert password not in out and known[:10] not in out


def test_token_split_by_a_pause_is_redacted_whole(pipes: list[Pipe]) -> None:
    """A GitHub token whose halves arrive a second apart is held, then redacted whole."""
    token = github_pat()
    pipe = Pipe("--flush-idle-ms", "100")
    pipes.append(pipe)
    pipe.send("push with " + token[:15])
    assert pipe.read_until(b"push with ") == b"push with "
    assert pipe.read_for(1.0) == b"push with "
    pipe.send(token[15:] + "\n")
    assert pipe.finish() == b"push with [REDACTED:github-personal-access-token]\n"


def test_without_the_flag_an_unfinished_line_waits(pipes: list[Pipe]) -> None:
    """By default `sluice redact` keeps exact line semantics: nothing before the newline."""
    pipe = Pipe()
    pipes.append(pipe)
    pipe.send("Continue? [y/N] \r 10%\r")
    assert pipe.read_for(1.0) == b""
    pipe.send("y\n")
    assert pipe.finish() == b"Continue? [y/N] \r 10%\ry\n"
