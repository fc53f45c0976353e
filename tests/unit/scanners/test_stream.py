from __future__ import annotations

import io
import os

from scanners.engine import Engine
from scanners.redactor import Redactor
from scanners.stream import redact_stream
from tests.unit.scanners.ruleset import GH_TOKEN, RULES


class Trickle(io.RawIOBase):
    """A pipe that hands out a few bytes per read, splitting multi-byte characters."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data[self._pos : self._pos + min(self._step, len(buffer))]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def run(data: bytes, step: int) -> bytes:
    out = io.BytesIO()
    redact_stream(io.BufferedReader(Trickle(data, step)), out, Redactor(Engine(RULES, backend="python")))
    return out.getvalue()


def test_bytes_round_trip_at_any_read_size() -> None:
    """Invalid UTF-8, NULs and characters split across reads come out exactly as they went in."""
    data = "é✓ ünï\n".encode() * 50 + b"\xff\xfe\x00\x80 raw\r\n" + os.urandom(3000).replace(b"\n", b" ")
    for step in (1, 2, 3, 7, 4096):
        assert run(data, step) == data, step


def test_secret_split_across_reads_is_redacted() -> None:
    """A token arriving one byte per read is still redacted."""
    data = f"héllo {GH_TOKEN} ✓\n".encode()
    assert run(data, 1) == "héllo [REDACTED:test-github-pat] ✓\n".encode()


def test_findings_are_handed_over_as_they_come() -> None:
    """The callback receives findings while streaming, with line numbers."""
    got: list[int] = []
    out = io.BytesIO()
    source = io.BytesIO(f"a\nb {GH_TOKEN}\nc\n".encode())
    redact_stream(source, out, Redactor(Engine(RULES, backend="python"), mode="report"),
                  on_findings=lambda found: got.extend(f.line for f in found))
    assert got == [2]
