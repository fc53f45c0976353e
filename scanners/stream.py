"""stdin -> stdout plumbing for `sluice redact`: bytes in, bytes out, nothing lost.

Input is decoded as UTF-8 with `surrogateescape`, so any byte sequence (Latin-1 logs, binary
noise, a multi-byte character split across reads) comes out exactly as it went in except
where a secret was replaced. Reads return whatever the pipe has (up to `chunk_size`) so a
quiet log stream is passed on as soon as each line is complete, not when a buffer fills.
With `idle_s`, an unfinished line (a prompt, a progress bar) is not held forever: once the
input has been quiet that long, the redactor's safe prefix of it is written (`Redactor.idle`).
"""

from __future__ import annotations

import codecs
import os
import select
from collections.abc import Callable
from typing import BinaryIO

from scanners.findings import Finding
from scanners.redactor import Redactor

CHUNK_SIZE = 1 << 20


def _fileno(source: BinaryIO) -> int:
    try:
        return source.fileno()
    except (AttributeError, OSError, ValueError):
        return -1


def _reader(source: BinaryIO, chunk_size: int) -> Callable[[], bytes]:
    fd = _fileno(source)
    if fd >= 0 and not getattr(source, "peek", None):
        return lambda: os.read(fd, chunk_size)
    read1 = getattr(source, "read1", None)
    if read1 is not None:
        return lambda: bytes(read1(chunk_size))
    return lambda: source.read(chunk_size)


def redact_stream(
    source: BinaryIO,
    sink: BinaryIO,
    redactor: Redactor,
    *,
    on_findings: Callable[[list[Finding]], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    idle_s: float = 0.0,
) -> None:
    """Copy `source` to `sink` through `redactor` until end of input; with `idle_s` (and a
    source that is a file descriptor), flush the unfinished line's safe prefix when quiet."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    fd = _fileno(source) if idle_s > 0 else -1
    # Read the descriptor itself: a buffered reader's own buffer would be invisible to select.
    read: Callable[[], bytes] = (
        (lambda: os.read(fd, chunk_size)) if fd >= 0 else _reader(source, chunk_size)
    )
    write = sink.write
    idle_done = True  # nothing new since the last idle flush
    while True:
        if fd >= 0 and not idle_done and redactor.buffered:
            ready, _, _ = select.select([fd], [], [], idle_s)
            if not ready:
                idle_done = True
                out = redactor.idle()
                if out:
                    write(out.encode("utf-8", "surrogateescape"))
                    sink.flush()
                if on_findings is not None and redactor.findings:
                    on_findings(redactor.take_findings())
                continue
        data = read()
        idle_done = False
        final = not data
        text = decoder.decode(data, final=final)
        out = redactor.feed(text) if text else ""
        if final:
            out += redactor.flush()
        if out:
            write(out.encode("utf-8", "surrogateescape"))
            sink.flush()
        if on_findings is not None and redactor.findings:
            on_findings(redactor.take_findings())
        if final:
            return
