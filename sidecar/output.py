"""`sluice run`'s output guard: the command's stdout and stderr through the streaming redactor.

Invariants:
- Each stream has its own pipe, decoder and redactor, and keeps its order; the two streams are
  not merged, so a reader that separates them (a CI runner) still can.
- Low latency: one thread waits on both pipes; each read returns what the pipe holds (up to
  `CHUNK`) and is redacted and written at once. Only what the redactor must hold is held: an
  incomplete line, or a block that may still become a multi-line secret.
- Bounded memory whatever the command prints: one read plus the redactor's bound per stream.
- Bytes in, bytes out: undecodable bytes pass through unchanged (UTF-8 with surrogateescape).
- When the command has exited, pipes kept open by its background children are drained until
  they are quiet for `grace_s`; the guard then stops, so `sluice run` cannot hang on them.
- Prompts and progress bars show: a stream quiet for `idle_s` with an unfinished line gets the
  redactor's safe prefix of it (`Redactor.idle`: up to its last whitespace, a secret still
  arriving held), and "\r" redraws are written as they come (`eager_cr`). 0 disables both.
"""

from __future__ import annotations

import codecs
import json
import os
import select
import selectors
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from scanners.engine import Engine
from scanners.redactor import DEFAULT_MARKER, Redactor

CHUNK = 64 * 1024
POLL_S = 0.1
GRACE_S = 1.0
IDLE_S = 0.2  # `sluice run --flush-idle-ms` default


@dataclass
class _Stream:
    name: str
    read_fd: int
    write_fd: int  # the command's end, closed in this process once the command has it
    out_fd: int
    redactor: Redactor
    decoder: Any = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    )
    broken: bool = False  # our own output went away: keep draining the command, drop the text
    last_read: float = 0.0  # monotonic time of the last read that brought text
    idle_done: bool = True  # nothing new since the last idle flush


class OutputGuard:
    """Redacts a command's two output streams to `out_fds` (our stdout and stderr)."""

    def __init__(
        self,
        engine: Engine,
        mode: str = "redact",
        *,
        marker: str = DEFAULT_MARKER,
        out_fds: tuple[int, int] = (1, 2),
        grace_s: float = GRACE_S,
        idle_s: float = IDLE_S,
    ) -> None:
        self.mode = mode
        self.grace_s = grace_s
        self.idle_s = idle_s
        self.findings = 0
        self._streams: list[_Stream] = []
        for name, out_fd in zip(("stdout", "stderr"), out_fds):
            read_fd, write_fd = os.pipe()
            # Findings are only worth their cost (line numbers) when reported.
            redactor = Redactor(
                engine,
                mode=mode,
                marker=marker,
                source=name,
                keep_findings=mode == "report",
                eager_cr=idle_s > 0,
            )
            self._streams.append(_Stream(name, read_fd, write_fd, out_fd, redactor))
        self._report_fd = out_fds[1]

    @property
    def child_fds(self) -> tuple[int, int]:
        """The write ends to hand the command as its stdout and stderr."""
        return self._streams[0].write_fd, self._streams[1].write_fd

    @property
    def withheld_lines(self) -> int:
        return sum(s.redactor.withheld_lines for s in self._streams)

    def release_child_fds(self) -> None:
        """Close our copies of the write ends (after spawning), so EOF means the command is done."""
        for stream in self._streams:
            if stream.write_fd >= 0:
                os.close(stream.write_fd)
                stream.write_fd = -1

    def close(self) -> None:
        self.release_child_fds()
        for stream in self._streams:
            if stream.read_fd >= 0:
                os.close(stream.read_fd)
                stream.read_fd = -1

    def run(self, exited: threading.Event) -> None:
        """Pump until both pipes reach EOF, or the command has exited and they went quiet."""
        selector = selectors.DefaultSelector()
        for stream in self._streams:
            selector.register(stream.read_fd, selectors.EVENT_READ, stream)
        quiet_since: float | None = None
        try:
            while selector.get_map():
                events = selector.select(timeout=self._timeout())
                if not events:
                    self._flush_idle()
                    if exited.is_set():
                        quiet_since = quiet_since or time.monotonic()
                        if time.monotonic() - quiet_since >= self.grace_s:
                            break
                    continue
                quiet_since = None
                for key, _ in events:
                    stream = key.data
                    data = os.read(stream.read_fd, CHUNK)
                    if not data:
                        selector.unregister(stream.read_fd)
                    self._pass(stream, data)
                self._flush_idle()
            for key in list(selector.get_map().values()):
                self._pass(key.data, b"")  # abandoned by a background child: flush what we hold
        finally:
            selector.close()
            self.close()

    def _timeout(self) -> float:
        """Until the next idle flush is due, at most POLL_S."""
        due = [
            s.last_read + self.idle_s - time.monotonic()
            for s in self._streams
            if not s.idle_done and s.read_fd >= 0
        ]
        return max(min([POLL_S, *due]), 0.0)

    def _flush_idle(self) -> None:
        """Streams quiet for `idle_s` with an unfinished line: write its safe prefix, once."""
        if self.idle_s <= 0:
            return
        now = time.monotonic()
        for stream in self._streams:
            if not stream.idle_done and now - stream.last_read >= self.idle_s:
                stream.idle_done = True
                out = stream.redactor.idle()
                if out:
                    self._write(stream, out.encode("utf-8", "surrogateescape"))
                if stream.redactor.findings:
                    self._report(stream)

    def _pass(self, stream: _Stream, data: bytes) -> None:
        if data and self.idle_s > 0:
            stream.last_read, stream.idle_done = time.monotonic(), False
        final = not data
        text = stream.decoder.decode(data, final=final)
        out = stream.redactor.feed(text) if text else ""
        if final:
            out += stream.redactor.flush()
        if out:
            self._write(stream, out.encode("utf-8", "surrogateescape"))
        if stream.redactor.findings:
            self._report(stream)

    def _report(self, stream: _Stream) -> None:
        """Report mode: one JSON line per finding on our stderr (never the value)."""
        found = stream.redactor.take_findings()
        self.findings += len(found)
        lines = "".join(
            "sluice: finding " + json.dumps(f.as_record(show_value=False)) + "\n" for f in found
        )
        err = self._streams[1]
        if not err.broken:
            self._write(err, lines.encode())

    def _write(self, stream: _Stream, data: bytes) -> None:
        if stream.broken:
            return
        view = memoryview(data)
        while view:
            try:
                written = os.write(stream.out_fd, view)
            except BlockingIOError:  # our output was left non-blocking by whoever started us
                select.select([], [stream.out_fd], [], 1.0)
                continue
            except OSError:  # EPIPE and the like
                stream.broken = True
                return
            view = view[written:]
