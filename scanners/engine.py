"""One pass over the data: a multi-pattern prefilter finds candidate lines, `confirm` decides.

Invariants:
- Single-line rules are confirmed on exactly one line at a time (the line without its newline),
  so the result for a line never depends on which other lines were scanned with it; the
  streaming redactor relies on this to give the same output for any chunking.
- Multi-line rules (PEM keys) are confirmed on a bounded region around each candidate.
- The prefilter only ever adds candidates: with hyperscan, every rule's pattern (named groups
  made non-capturing, `^`/`$` at line boundaries) is compiled into one database, and every
  real match of the pattern in a line is also a match in the whole buffer, so its end offset
  flags that line. Without hyperscan (or for a pattern it rejects), the rule's lowercase
  keywords flag lines, which the rule contract guarantees every match contains.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from scanners import confirm, database_cache
from scanners.findings import Span
from scanners.known import KnownValues
from scanners.prefilter import Hit, HyperscanPrefilter, KeywordPrefilter, hyperscan_available
from scanners.rule import Rule

# Secrets whose pattern has no upper bound are assumed no longer than this (window overlap).
UNBOUNDED_SECRET_CAP = 1024
# A multi-line secret (a PEM block) is looked for this far around its candidate.
MULTILINE_CAP = 16384
KNOWN = -1
# Windows remembered as confirming nothing (16-byte digests in a dict: about 2 MB at most).
CLEAN_CACHE_SIZE = 16384
# Characters before a search window that its result may depend on: a match validator reads a
# key name's leading part (up to 40 characters) and the character before it.
CLEAN_CONTEXT = 48


def pattern_width(rule: Rule) -> int | None:
    """Longest text the rule's pattern can match, None when unbounded (or unparsable)."""
    parser: Any = re._parser  # type: ignore[attr-defined]  # the stdlib's own parser
    try:
        width = int(parser.parse(rule.pattern).getwidth()[1])
    except (re.error, OverflowError):  # pragma: no cover - rules are validated
        return None
    return None if width >= 1 << 20 else width


def max_width(rule: Rule, width: int | None = -1) -> int:
    """Longest text the rule can match, capped: how far back a window must re-read."""
    if width == -1:
        width = pattern_width(rule)
    cap = MULTILINE_CAP if rule.multiline else UNBOUNDED_SECRET_CAP
    return cap if width is None else min(width, cap)


_END_ASSERTION = re.compile(r"(?<!\\)(?:\\\\)*(?:\$|\\[ZzbB])")


def right_exact(pattern: str) -> bool:
    """True when cutting the text right after a match's end cannot change what matches: the
    pattern has no `$`, `\\Z` or word-boundary assertion other than a leading `\\b`."""
    body = pattern.removeprefix("\\b")
    return _END_ASSERTION.search(body) is None


def is_generic(rule_id: str, tags: Iterable[str] = ()) -> bool:
    return rule_id.startswith("generic") or "generic" in tags


class Engine:
    """Finds confirmed secret spans in text; built once per process, immutable afterwards."""

    def __init__(
        self,
        rules: Sequence[Rule],
        known: KnownValues | None = None,
        *,
        backend: str = "auto",
    ) -> None:
        if backend not in ("auto", "hyperscan", "python"):
            raise ValueError(f"unknown engine backend {backend!r}")
        self.rules = tuple(rules)
        self.known = known if known is not None and len(known) else None
        self._generic = {r.id for r in self.rules if is_generic(r.id, r.tags)}
        self._generic_index = frozenset(
            i for i, r in enumerate(self.rules) if is_generic(r.id, r.tags)
        )
        self.multiline_rules = tuple(i for i, r in enumerate(self.rules) if r.multiline)
        self._width: list[int | None] = database_cache.load_or_compute_json(
            "widths", [r.pattern for r in self.rules], lambda: [pattern_width(r) for r in self.rules]
        )
        widths = [max_width(r, w) for r, w in zip(self.rules, self._width)]
        self._multiline = frozenset(self.multiline_rules)
        self._right_exact = [right_exact(r.pattern) for r in self.rules]
        self._clean: dict[bytes, None] = {}
        self.max_line_secret = max(
            [w for r, w in zip(self.rules, widths) if not r.multiline]
            + [self.known.max_length if self.known else 0, 1]
        )
        self.max_multiline_secret = max(
            [w for r, w in zip(self.rules, widths) if r.multiline] + [0]
        )
        # Lowercase literals that may open a multi-line secret: the redactor gathers a block.
        self.block_keywords = tuple(
            sorted({k for i in self.multiline_rules for k in self.rules[i].keywords})
        )
        anchors = self.known.anchors if self.known else ()
        use_hs = backend == "hyperscan" or (backend == "auto" and hyperscan_available())
        if backend == "hyperscan" and not hyperscan_available():
            raise RuntimeError("hyperscan backend requested but the hyperscan module is missing")
        self._hs: HyperscanPrefilter | None = None
        residue: list[int] = list(range(len(self.rules)))
        residue_anchors: tuple[str, ...] = anchors
        if use_hs:
            self._hs = HyperscanPrefilter(self.rules, anchors, known_id=KNOWN)
            residue = list(self._hs.rejected)
            residue_anchors = ()
        self.backend = "hyperscan" if self._hs is not None else "python"
        if self._hs is not None:
            self._hs.set_triggers(self.block_keywords)
        self._kw = KeywordPrefilter(self.rules, residue, residue_anchors, known_id=KNOWN)

    # -- prefilter ---------------------------------------------------------------------------

    def first_trigger(self, text: str) -> int:
        """Offset inside the first occurrence of a keyword that may open a multi-line secret
        (a PEM header), or -1: the redactor gathers such lines into one block."""
        if not self.block_keywords:
            return -1
        if self._hs is not None:
            found = self._hs.first_trigger(text)
            if found is not None:
                return max(found - 1, -1)  # the keyword's last character, or -1
        lowered = text.lower()
        if len(lowered) != len(text):
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        positions = [p for p in (lowered.find(k) for k in self.block_keywords) if p != -1]
        return min(positions) if positions else -1

    def _hits(self, text: str) -> list[Hit]:
        hits: list[Hit] = []
        if self._hs is not None:
            hits.extend(self._hs.hits(text))
        if not self._kw.empty:
            hits.extend(self._kw.hits(text))
        return hits

    # -- confirmation ------------------------------------------------------------------------

    def find(self, text: str) -> list[Span]:
        """Confirmed secret spans in `text`, sorted, with generic duplicates of specific ones
        removed. Single-line rules see one line at a time."""
        hits = self._hits(text)
        if not hits:
            return []
        multiline = self._multiline
        # (line start, rule) -> [line end, earliest start, first end, last end]; -1 = unknown
        windows: dict[tuple[int, int], list[int]] = {}
        regions: list[tuple[int, int]] = []
        hits.sort(key=lambda h: h[1])
        line_start, line_end = -1, -1
        for rule_index, anchor, start, first_end, last_end in hits:
            if rule_index in multiline:
                regions.append((rule_index, anchor))
                continue
            if not line_start <= anchor < line_end:
                if text[anchor : anchor + 1] == "\n":  # a match that ends by eating the newline
                    anchor -= 1
                    if anchor < 0:
                        continue
                line_start = text.rfind("\n", 0, anchor) + 1
                line_end = text.find("\n", anchor)
                if line_end == -1:
                    line_end = len(text)
                if line_end == line_start:
                    continue
            window = windows.get((line_start, rule_index))
            if window is None:
                windows[(line_start, rule_index)] = [line_end, start, first_end, last_end]
            else:
                window[1] = -1 if start < 0 or window[1] < 0 else min(start, window[1])
                window[2] = -1 if first_end < 0 or window[2] < 0 else min(first_end, window[2])
                window[3] = -1 if last_end < 0 or window[3] < 0 else max(last_end, window[3])
        spans: set[Span] = set()
        refined = self._refine(text, windows)
        # Specific rules first: a generic candidate on a secret they already found would be
        # dropped by `_resolve`, so confirm skips its filters (costly on long values).
        generic = self._generic_index
        found_on: dict[int, list[tuple[int, int]]] = {}  # line start -> specific spans in it
        for (start, rule_index), (end, first, first_end, last_end) in sorted(
            windows.items(), key=lambda item: item[0][1] in generic
        ):
            line = text[start:end]
            if (start, rule_index) in refined:
                exact = refined[(start, rule_index)]
                if exact is None:
                    continue  # the start-reporting pass found no match on this line
                first, first_end, last_end = (p + start for p in exact)
            if rule_index == KNOWN:
                assert self.known is not None
                for hit in self.known.spans(line):
                    spans.add(Span(start + hit.start, start + hit.end, hit.rule))
                    found_on.setdefault(start, []).append((hit.start, hit.end))
                continue
            rule = self.rules[rule_index]
            pos, endpos = self._bounds(rule_index, start, len(line), first, first_end, last_end)
            key = self._clean_key(rule_index, line, pos, endpos)
            if key in self._clean:
                continue
            taken = found_on.get(start, ()) if rule_index in generic else ()
            confirmed = confirm.secret_spans(rule, line, pos, endpos, exclude=taken)
            if not confirmed and not taken:
                self._remember_clean(key)
            for s, e in confirmed:
                spans.add(Span(start + s, start + e, rule.id))
                if rule_index not in generic:
                    found_on.setdefault(start, []).append((s, e))
        if regions:
            spans.update(self._confirm_regions(text, regions))
        return self._resolve(spans)

    def _refine(
        self, text: str, windows: dict[tuple[int, int], list[int]]
    ) -> dict[tuple[int, int], tuple[int, int, int] | None]:
        """Generic rules: their regex is slow per position, so find exactly where each match
        starts (a second hyperscan pass over just the flagged lines) and begin the search there.
        Lines whose offsets cannot be refined (non-ASCII) are left out: searched whole."""
        if self._hs is None or not self._hs.with_start:
            return {}
        with_start = self._hs.with_start
        rules_at: dict[tuple[int, int], list[int]] = {}  # (line start, line end) -> rules
        for (line_start, rule_index), window in windows.items():
            if rule_index in with_start:
                rules_at.setdefault((line_start, window[0]), []).append(rule_index)
        if not rules_at:
            return {}
        wanted = sorted(rules_at)
        found = self._hs.starts([text[s:e] for s, e in wanted])
        refined: dict[tuple[int, int], tuple[int, int, int] | None] = {}
        for key, per_line in zip(wanted, found):
            if per_line is not None:
                for rule_index in rules_at[key]:
                    refined[(key[0], rule_index)] = per_line.get(rule_index)
        return refined

    @staticmethod
    def _clean_key(rule_index: int, line: str, pos: int, endpos: int) -> bytes:
        """What a search of line[pos:endpos] depends on: the rule, that text and the context
        before it that rules read (word boundaries, `^`, a key name's leading part such as
        `next_page_` that a match validator reads back). Hashed, so the cache holds no log
        text."""
        lo = max(pos - CLEAN_CONTEXT, 0)
        digest = hashlib.blake2b(digest_size=16)
        digest.update(rule_index.to_bytes(4, "big", signed=True))
        digest.update((pos - lo).to_bytes(4, "big"))
        digest.update(b"^" if lo == 0 else b".")
        digest.update(line[lo:endpos].encode("utf-8", "surrogateescape"))
        return digest.digest()

    def _remember_clean(self, key: bytes) -> None:
        # Logs repeat themselves (the same placeholder, the same config dump on every request):
        # remember windows that confirmed nothing, FIFO-bounded.
        if len(self._clean) >= CLEAN_CACHE_SIZE:
            del self._clean[next(iter(self._clean))]
        self._clean[key] = None

    def _bounds(
        self, rule_index: int, line_start: int, length: int, first: int, first_end: int, last_end: int
    ) -> tuple[int, int]:
        """The part of a line the rule's regex must search to find exactly what a search of the
        whole line finds. Every match ends at a reported end (the prefilter's patterns match a
        superset) and starts at or after the earliest reported start, or at most the rule's
        width before the first reported end. The right edge is cut only for patterns with no
        end-of-text assertion, which a cut would make true."""
        pos, endpos = 0, length
        if first >= 0:
            pos = first - line_start
        elif first_end >= 0 and (width := self._width[rule_index]) is not None:
            pos = first_end - line_start - width
        if last_end >= 0 and self._right_exact[rule_index]:
            endpos = last_end - line_start
        return min(max(pos, 0), length), min(max(endpos, 0), length)

    def _confirm_regions(self, text: str, hits: list[tuple[int, int]]) -> set[Span]:
        spans: set[Span] = set()
        reach = max(self.max_multiline_secret, 1)
        by_rule: dict[int, list[tuple[int, int]]] = {}
        for rule_index, pos in hits:
            begin = text.rfind("\n", 0, max(pos - reach, 0)) + 1
            stop = text.find("\n", min(pos + reach, len(text)))
            merged = by_rule.setdefault(rule_index, [])
            stop = len(text) if stop == -1 else stop
            if merged and begin <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
            else:
                merged.append((begin, stop))
        for rule_index, windows in by_rule.items():
            rule = self.rules[rule_index]
            for begin, stop in windows:
                for s, e in confirm.secret_spans(rule, text[begin:stop]):
                    spans.add(Span(begin + s, begin + e, rule.id))
        return spans

    def _resolve(self, spans: set[Span]) -> list[Span]:
        """Drop a generic rule's span where a specific rule (or a known value) found the same
        secret: one secret, one finding, named by the most specific rule."""
        ordered = sorted(spans)
        if len(ordered) < 2 or not self._generic:
            return ordered
        specific = [s for s in ordered if s.rule not in self._generic]
        kept: list[Span] = []
        for span in ordered:
            if span.rule in self._generic and any(
                o.start < span.end and span.start < o.end for o in specific
            ):
                continue
            kept.append(span)
        return kept
