"""Incremental, line-preserving redaction: `feed(chunk) -> str`, `flush() -> str`. Pure: no I/O.

Invariants:
- Output depends only on the input text, never on how it was split into chunks: every decision
  (where a line ends, where a long line is cut into windows, where a multi-line block ends) is
  a function of the content alone, and single-line rules see exactly one line (`Engine.find`).
- Same number of lines out as in: replacements never add or remove a newline (a multi-line
  secret is replaced by one marker followed by the newlines it covered).
- Bounded memory: between calls the redactor holds at most `bound` characters: the current
  incomplete line up to `max_line_length`, plus `overlap` (the longest possible secret) of
  context; longer lines are processed in windows that re-read the previous `overlap`
  characters, so a secret straddling a window edge is still caught. A multi-line
  block (a PEM key) is held until it completes or reaches the longest multi-line secret.
- What is held back is the unfinished last line, nothing else: rules read context on both
  sides of a secret (`password=` before it, a delimiter after it), so a line is only final
  when it ends. The hold-back is capped by `max_line_length` (at least twice the longest
  secret); a smaller limit trades window cuts for lower latency on newline-less output.
- Complete lines are scanned in bulk: a chunk of clean lines costs one prefilter pass and no
  per-line Python work.

Idle flush (`idle()`, and with `eager_cr` a cut at every "\r" as it arrives) shows part of the
unfinished line early: the part up to a cut just after whitespace, redacted as if the line
ended there, with the rest held (`scanners.holdback.safe_end`). What was shown is kept as left context
and never emitted again, so a secret arriving later is matched with its `password=` key.
Invariant: for lines shorter than `max_line_length`, the concatenated output equals the output
without idle flush, whatever the chunking and wherever the idle points fall; it only arrives
earlier. (The one theoretical exception is more redaction, never less: a rule whose regex scan
takes a different path once the line goes on.) In block mode a line whose beginning was shown
before a finding appeared in it keeps that beginning; the rest of the line is replaced by the
`[WITHHELD:rule]` marker, and nothing more of that line is shown. The shown part stays held as
context until the line ends: at most `max_line_length` characters more than the bound above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scanners.confirm import compiled
from scanners.engine import Engine
from scanners.findings import Finding, SecretValue, Span
from scanners.holdback import CUT_CHARS, hold_plan, safe_end

MODES = ("redact", "block", "report")
DEFAULT_MARKER = "[REDACTED:{rule}]"
WITHHELD_MARKER = "[WITHHELD:{rule}]"
DEFAULT_MAX_LINE = 64 * 1024
MAX_BLOCK_LINES = 256
_parser: Any = re._parser  # type: ignore[attr-defined]  # the stdlib's own pattern parser
_sre: Any = re._constants  # type: ignore[attr-defined]


@dataclass
class _Piece:
    """Text about to be emitted and the spans (relative to it) found in it."""

    text: str
    spans: list[Span]
    line: int  # line number of text[0]
    col: int  # column of text[0] within its line
    # Spans that began in text already emitted (window overlap): redacted, not reported again.
    seen: frozenset[Span] = frozenset()


class Redactor:
    def __init__(
        self,
        engine: Engine,
        *,
        mode: str = "redact",
        marker: str = DEFAULT_MARKER,
        max_line_length: int = DEFAULT_MAX_LINE,
        source: str = "-",
        skip_long_lines: bool = False,
        keep_findings: bool = True,
        eager_cr: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if max_line_length < 1:
            raise ValueError("max_line_length must be positive")
        self.engine = engine
        self.mode = mode
        self.marker = marker
        self.source = source
        # `sluice scan` reports lines longer than max_line_length and leaves them unscanned;
        # the redactor (the default) scans them in overlapping windows instead.
        self.skip_long_lines = skip_long_lines
        # Findings need line numbers, which cost a pass over all text; a pure redaction
        # pipeline that reports nothing skips both.
        self.keep_findings = keep_findings
        self.skipped_lines: list[int] = []
        self.overlap = engine.max_line_secret
        # A line of `threshold` characters or more is cut into windows that advance by
        # `window` and re-read `overlap`; the limit is raised to twice the longest secret so
        # that every window makes progress past its overlap.
        self.threshold = max(max_line_length, 2 * self.overlap)
        self.window = self.threshold - self.overlap
        self.block_limit = engine.max_multiline_secret
        self.bound = self.threshold + self.block_limit + self.overlap
        # A block is complete once some multi-line rule's regex matches it (validation aside).
        self._blocks = [compiled(engine.rules[i]) for i in engine.multiline_rules]
        self._has_blocks = bool(engine.block_keywords)
        self._pending = ""
        self._ctx = ""  # already-emitted left context of the current (long) line
        self._col = 0  # column of _pending[0] within its line
        self._line = 1  # line number of _pending[0]
        self._block: list[str] | None = None  # complete lines of a possible multi-line secret
        self._block_chars = 0
        self.findings: list[Finding] = []
        self.withheld_lines = 0
        # Idle flush state: emit up to the last "\r" as it arrives (progress redraws); the line
        # in progress has shown its beginning (`_ctx` is all of it); block mode: the rest of
        # the line in progress is withheld; a block opened on such a line keeps its context.
        self.eager_cr = eager_cr
        self._shown_line = False
        self._line_withheld = False
        self._block_ctx = ""
        self._block_col = 0
        # Worked out once per rule set (about 0.2 s), before any output is waiting for it.
        self._plan = hold_plan(engine.rules) if eager_cr else None

    @property
    def buffered(self) -> int:
        """Characters held between calls (what the memory bound is about)."""
        return len(self._pending) + len(self._ctx) + self._block_chars

    def take_findings(self) -> list[Finding]:
        found, self.findings = self.findings, []
        return found

    def feed(self, chunk: str) -> str:
        self._pending += chunk
        out: list[str] = []
        self._drain(out, final=False)
        if self.eager_cr and "\r" in chunk:
            self._show_ready(out, self._pending.rfind("\r") + 1)
        return "".join(out)

    def idle(self) -> str:
        """No input has arrived for a while: emit the safe prefix of the unfinished line (up
        to its last whitespace, less anything a secret could still be starting in)."""
        out: list[str] = []
        pending = self._pending
        last = max(pending.rfind(c) for c in CUT_CHARS)
        self._show_ready(out, last + 1)
        return "".join(out)

    def flush(self) -> str:
        out: list[str] = []
        self._drain(out, final=True)
        return "".join(out)

    # -- the state machine -------------------------------------------------------------------

    def _drain(self, out: list[str], *, final: bool) -> None:
        while True:
            pending = self._pending
            if self._block is not None:
                if not self._grow_block(out, final=final):
                    return
                continue
            if not pending:
                return
            if self._col > 0:  # inside a long line, or one whose beginning was shown early
                newline = pending.find("\n", 0, self.threshold)
                if newline != -1 and self._opens_block(pending[: newline + 1]):
                    self._block, self._block_chars = [], len(self._ctx)
                    self._block_ctx, self._block_col = self._ctx, self._col
                    self._ctx, self._col, self._shown_line = "", 0, False
                elif newline != -1 or (final and len(pending) < self.threshold):
                    end = newline + 1 if newline != -1 else len(pending)
                    self._emit_line_tail(out, end)
                elif len(pending) >= self.threshold:
                    self._emit_window(out)
                else:
                    return
                continue
            last = pending.rfind("\n")
            if last == -1:
                if len(pending) >= self.threshold:
                    self._emit_window(out)
                    continue
                if final:
                    self._emit_bulk(out, len(pending))
                return
            stop = self._clean_prefix(pending, last + 1)
            if stop > 0:
                self._emit_bulk(out, stop)
                continue
            # pending starts with a long line or a block trigger line
            if pending.find("\n", 0, self.threshold) == -1:
                self._emit_window(out)
            else:
                self._block, self._block_chars = [], 0

    def _opens_block(self, line: str) -> bool:
        """A line shown in part early that turns out to open a multi-line block: gathered as
        the block it would have been without the early part (same output)."""
        return (
            self._shown_line
            and self._has_blocks
            and self.engine.first_trigger(self._ctx + line) != -1
        )

    def _clean_prefix(self, pending: str, end: int) -> int:
        """Length of the run of complete lines at the start of pending[:end] that holds no long
        line and no line opening a multi-line block."""
        stop = end
        if self._has_blocks:
            at = self.engine.first_trigger(pending[:end] if end < len(pending) else pending)
            if at != -1:
                stop = pending.rfind("\n", 0, at) + 1
        pos, threshold = 0, self.threshold
        while pos < stop:
            if stop - pos <= threshold:
                break
            last_nl = pending.rfind("\n", pos, pos + threshold)
            if last_nl == -1:
                return pos  # the line starting at pos is long
            pos = last_nl + 1
        if pos < stop and pending.find("\n", pos, min(stop, pos + threshold)) == -1:
            return pos
        return stop

    def _grow_block(self, out: list[str], *, final: bool) -> bool:
        """Add complete lines to the block; emit it when complete. False: need more input."""
        assert self._block is not None
        while True:
            pending = self._pending
            newline = pending.find("\n", 0, self.threshold)
            if newline == -1:
                if len(pending) < self.threshold and not final:
                    return False
                if final and pending and len(pending) < self.threshold:
                    self._block.append(pending)
                    self._block_chars += len(pending)
                    self._pending = ""
                self._end_block(out)
                return True
            line = pending[: newline + 1]
            self._pending = pending[newline + 1 :]
            self._block.append(line)
            self._block_chars += len(line)
            if (
                len(self._block) >= MAX_BLOCK_LINES
                or self._block_chars >= self.block_limit
                or self._block_complete()
            ):
                self._end_block(out)
                return True

    def _block_complete(self) -> bool:
        assert self._block is not None
        text = self._block_ctx + "".join(self._block)
        return any(pattern.search(text) for pattern in self._blocks)

    def _end_block(self, out: list[str]) -> None:
        assert self._block is not None
        ctx, text = self._block_ctx, "".join(self._block)
        col, offset = self._block_col, len(ctx)
        self._block, self._block_chars, self._block_ctx, self._block_col = None, 0, "", 0
        if text:
            found = [s for s in self.engine.find(ctx + text) if s.end > offset]
            spans = [_clip(s, offset, len(text)) for s in found]
            seen = frozenset(_clip(s, offset, len(text)) for s in found if s.start < offset)
            self._emit(out, _Piece(text, spans, self._line, col, seen))
            self._line += text.count("\n")

    def _emit_bulk(self, out: list[str], end: int) -> None:
        text, self._pending = self._pending[:end], self._pending[end:]
        self._emit(out, _Piece(text, self.engine.find(text), self._line, 0))
        if self.keep_findings:
            self._line += text.count("\n")

    def _emit_window(self, out: list[str]) -> None:
        """Emit at least `window` characters of a long line; spans starting in them are whole."""
        ctx, pending = self._ctx, self._pending
        if self.skip_long_lines:
            if self._col == 0:
                self.skipped_lines.append(self._line)
            out.append(pending[: self.threshold])
            self._pending = pending[self.threshold :]
            self._col += self.threshold
            return
        scanned = ctx + pending[: self.threshold]
        offset = len(ctx)
        spans = [s for s in self.engine.find(scanned) if s.end > offset]
        cut = self.window
        for s in spans:
            if s.start - offset < self.window:
                cut = max(cut, s.end - offset)
        piece = [_clip(s, offset, cut) for s in spans if s.start - offset < cut]
        seen = frozenset(_clip(s, offset, cut) for s in spans if s.start < offset)
        self._emit(out, _Piece(pending[:cut], piece, self._line, self._col, seen))
        self._ctx = (ctx + pending[:cut])[-self.overlap :]
        self._pending = pending[cut:]
        self._col += cut
        self._shown_line = False

    def _emit_line_tail(self, out: list[str], end: int) -> None:
        ctx, text = self._ctx, self._pending[:end]
        if self.skip_long_lines:
            out.append(text)
            self._pending = self._pending[end:]
            self._ctx, self._col = "", 0
            self._line += text.endswith("\n")
            return
        offset = len(ctx)
        body = text.removesuffix("\n")
        found = [s for s in self.engine.find(ctx + body) if s.end > offset]
        spans = [_clip(s, offset, len(body)) for s in found]
        seen = frozenset(_clip(s, offset, len(body)) for s in found if s.start < offset)
        self._emit(out, _Piece(text, spans, self._line, self._col, seen))
        self._pending = self._pending[end:]
        self._ctx, self._col, self._shown_line = "", 0, False
        if text.endswith("\n"):
            self._line += 1

    def _show_ready(self, out: list[str], cut: int) -> None:
        """Emit the unfinished line up to `cut` (an offset in pending just after a cut
        character), or less: as far as `safe_end` allows. Nothing while a block is gathered."""
        pending = self._pending
        if cut <= 0 or self._block is not None or self.skip_long_lines or "\n" in pending:
            return
        # ctx is all of the line so far, unless the line was cut into windows (then the last
        # `overlap` characters, as windows keep)
        whole = self._col == 0 or self._shown_line
        text, offset = self._ctx + pending, len(self._ctx)
        if self._plan is None:
            self._plan = hold_plan(self.engine.rules)
        end = safe_end(self.engine, text, offset, offset + cut, self._plan)
        if end <= offset:
            return
        spans = self.engine.find(text)
        for span in reversed(spans):  # a secret found whole (a known value with spaces)
            if span.start < end < span.end:  # is not cut in two
                end = span.start
        if end <= offset:
            return
        found = [s for s in spans if s.end > offset and s.start < end]
        clipped = [_clip(s, offset, end - offset) for s in found]
        seen = frozenset(_clip(s, offset, end - offset) for s in found if s.start < offset)
        self._emit(out, _Piece(text[offset:end], clipped, self._line, self._col, seen))
        self._pending = pending[end - offset :]
        self._col += end - offset
        if whole and self._col < self.threshold:
            self._ctx, self._shown_line = text[:end], True
        else:  # a long line: its context is what its windows keep
            self._ctx, self._shown_line = text[:end][-self.overlap :], False

    # -- output ------------------------------------------------------------------------------

    def _emit(self, out: list[str], piece: _Piece) -> None:
        if not piece.spans and not self._line_withheld:
            out.append(piece.text)
            return
        if self.keep_findings:
            self._record(piece)
        if self.mode == "report":
            out.append(piece.text)
        elif self.mode == "redact":
            out.append(self._redacted(piece))
        else:
            out.append(self._withheld(piece))

    def _record(self, piece: _Piece) -> None:
        text = piece.text
        before, counted_to = 0, 0  # newlines before `counted_to`, advanced span by span
        for span in sorted(piece.spans):
            if span in piece.seen:
                continue
            before += text.count("\n", counted_to, span.start)
            counted_to = span.start
            line_start = text.rfind("\n", 0, span.start) + 1
            col = span.start - line_start + (piece.col if before == 0 else 0)
            self.findings.append(
                Finding(
                    file=self.source,
                    line=piece.line + before,
                    start=col,
                    end=col + span.end - span.start,
                    rule=span.rule,
                    value=SecretValue(text[span.start : span.end]),
                )
            )

    def _redacted(self, piece: _Piece) -> str:
        parts: list[str] = []
        pos = 0
        for start, end, rule in merged(piece.spans):
            parts.append(piece.text[pos:start])
            parts.append(self.marker.format(rule=rule) + "\n" * piece.text.count("\n", start, end))
            pos = end
        parts.append(piece.text[pos:])
        return "".join(parts)

    def _withheld(self, piece: _Piece) -> str:
        """Replace every line touched by a span with a marker line, keeping its newline. A line
        already withheld in part (its beginning was shown early) loses the rest, unmarked."""
        text = piece.text
        hidden: dict[int, str | None] = {0: None} if self._line_withheld else {}
        for start, end, rule in merged(piece.spans):
            line_start = text.rfind("\n", 0, start) + 1
            while line_start < max(end, start + 1):
                hidden.setdefault(line_start, rule)
                nl = text.find("\n", line_start)
                if nl == -1:
                    break
                line_start = nl + 1
        parts: list[str] = []
        pos = 0
        for line_start in sorted(hidden):
            nl = text.find("\n", line_start)
            line_end = len(text) if nl == -1 else nl
            parts.append(text[pos:line_start])
            marked = hidden[line_start]
            if marked is not None:
                parts.append(WITHHELD_MARKER.format(rule=marked))
                self.withheld_lines += 1
            pos = line_end
        parts.append(text[pos:])
        last = text.rfind("\n") + 1
        self._line_withheld = last < len(text) and last in hidden
        return "".join(parts)


def _clip(span: Span, offset: int, limit: int) -> Span:
    """`span` of a scanned window made relative to the emitted piece and kept inside it."""
    return Span(max(span.start - offset, 0), min(span.end - offset, limit), span.rule)


def merged(spans: list[Span]) -> list[tuple[int, int, str]]:
    """Overlapping spans joined; the joined span keeps the first rule's name."""
    result: list[tuple[int, int, str]] = []
    for span in sorted(spans):
        if result and span.start < result[-1][1]:
            start, end, rule = result[-1]
            result[-1] = (start, max(end, span.end), rule)
        else:
            result.append((span.start, span.end, span.rule))
    return result


def redact_text(engine: Engine, text: str, *, marker: str = DEFAULT_MARKER) -> str:
    """One-shot redaction of a complete text (log messages, exception text)."""
    redactor = Redactor(engine, marker=marker)
    return redactor.feed(text) + redactor.flush()
