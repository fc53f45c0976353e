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

import re
from collections.abc import Iterable, Sequence
from typing import Any

from scanners import confirm
from scanners.findings import Span
from scanners.known import RULE_ID as KNOWN_RULE_ID
from scanners.known import KnownValues
from scanners.prefilter import HyperscanPrefilter, KeywordPrefilter, hyperscan_available
from scanners.rule import Rule

# Secrets whose pattern has no upper bound are assumed no longer than this (window overlap).
UNBOUNDED_SECRET_CAP = 1024
# A multi-line secret (a PEM block) is looked for this far around its candidate.
MULTILINE_CAP = 16384
KNOWN = -1


def max_width(rule: Rule) -> int:
    """Longest text the rule's pattern can match, capped for unbounded patterns."""
    parser: Any = re._parser  # type: ignore[attr-defined]  # the stdlib's own parser
    try:
        width = int(parser.parse(rule.pattern).getwidth()[1])
    except (re.error, OverflowError):  # pragma: no cover - rules are validated
        width = UNBOUNDED_SECRET_CAP
    cap = MULTILINE_CAP if rule.multiline else UNBOUNDED_SECRET_CAP
    return min(width, cap)


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
        self.multiline_rules = tuple(i for i, r in enumerate(self.rules) if r.multiline)
        widths = [max_width(r) for r in self.rules]
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
        self._kw = KeywordPrefilter(self.rules, residue, residue_anchors, known_id=KNOWN)

    # -- prefilter ---------------------------------------------------------------------------

    def _hits(self, text: str) -> list[tuple[int, int]]:
        """(rule index or KNOWN, char offset inside a possible match), unordered."""
        hits: list[tuple[int, int]] = []
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
        multiline = set(self.multiline_rules)
        lines: dict[int, tuple[int, set[int]]] = {}
        regions: list[tuple[int, int]] = []
        hits.sort(key=lambda h: h[1])
        line_start, line_end = -1, -1
        for rule_index, pos in hits:
            if rule_index in multiline:
                regions.append((rule_index, pos))
                continue
            if not line_start <= pos < line_end:
                if text[pos:pos + 1] == "\n":  # a cross-line prefilter hit ends on the newline
                    pos -= 1
                    if pos < 0:
                        continue
                line_start = text.rfind("\n", 0, pos) + 1
                line_end = text.find("\n", pos)
                if line_end == -1:
                    line_end = len(text)
                if line_end == line_start:
                    continue
            entry = lines.get(line_start)
            if entry is None:
                lines[line_start] = (line_end, {rule_index})
            else:
                entry[1].add(rule_index)
        spans: set[Span] = set()
        for start, (end, rule_indexes) in lines.items():
            line = text[start:end]
            for rule_index in rule_indexes:
                if rule_index == KNOWN:
                    assert self.known is not None
                    found = self.known.spans(line)
                    spans.update(Span(start + s.start, start + s.end, s.rule) for s in found)
                    continue
                rule = self.rules[rule_index]
                for s, e in confirm.secret_spans(rule, line):
                    spans.add(Span(start + s, start + e, rule.id))
        if regions:
            spans.update(self._confirm_regions(text, regions))
        return self._resolve(spans)

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


def rule_ids(engine: Engine) -> list[str]:
    return [r.id for r in engine.rules] + ([KNOWN_RULE_ID] if engine.known else [])
