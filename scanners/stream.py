"""stdin -> stdout plumbing for `sluice redact`: bytes in, bytes out, nothing lost.

Input is decoded as UTF-8 with `surrogateescape`, so any byte sequence (Latin-1 logs, binary
noise, a multi-byte character split across reads) comes out exactly as it went in except
where a secret was replaced. Reads return whatever the pipe has (up to `chunk_size`) so a
quiet log stream is passed on as soon as each line is complete, not when a buffer fills.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable
from typing import BinaryIO

from scanners.findings import Finding
from scanners.redactor import Redactor

CHUNK_SIZE = 1 << 20


def _reader(source: BinaryIO, chunk_size: int) -> Callable[[], bytes]:
    try:
        fd = source.fileno()
    except (AttributeError, OSError, ValueError):
        fd = -1
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
) -> None:
    """Copy `source` to `sink` through `redactor` until end of input."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    read = _reader(source, chunk_size)
    write = sink.write
    while True:
        data = read()
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
