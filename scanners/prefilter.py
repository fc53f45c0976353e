"""First stage of matching: which lines may hold a match of which rule.

Two interchangeable prefilters yield `(rule index, character offset)` hits:
- `HyperscanPrefilter`: every rule's pattern in one hyperscan database, scanned once over the
  whole buffer; a hit is the offset of a match's last character. Patterns hyperscan rejects are
  retried as prefilter patterns (a superset), and failing that left to the keyword prefilter.
- `KeywordPrefilter`: the rules' lowercase keywords (Aho-Corasick when pyahocorasick is
  installed, `str.find` otherwise) over the lowercased buffer; a hit is the keyword's offset.
Known-value anchors are exact, case-sensitive literals in both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from scanners import database_cache
from scanners.rule import Rule

try:  # optional compiled engines; the pure-Python path must work without them
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised by forcing backend="python"
    _hs = None
try:
    import ahocorasick as _ac
except ImportError:  # pragma: no cover
    _ac = None

_NAMED_GROUP = re.compile(r"(?<!\\)\(\?P<[A-Za-z_][A-Za-z0-9_]*>")


def _compile(entries: Sequence[tuple[bytes, int, int]]) -> Any:
    assert _hs is not None
    db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
    db.compile(
        expressions=[e[0] for e in entries],
        ids=[e[1] for e in entries],
        flags=[e[2] for e in entries],
    )
    return db


_BOUNDED = re.compile(rb"(?<!\\)\{(\d+)(?:(,)(\d*))?\}")


def relaxed(expression: bytes) -> bytes:
    """The expression with bounded repeats opened up (`{m,n}` -> `{m,}`, `{0,n}` -> `*`, long
    `{n}` -> `{n,}`): it matches a superset, which is all a prefilter needs, and compiles
    several times faster because hyperscan unrolls bounded repeats into states."""

    def opened(match: re.Match[bytes]) -> bytes:
        low, comma = match.group(1), match.group(2)
        if not comma and int(low) <= 8:
            return match.group(0)
        return b"*" if comma and low == b"0" else b"{" + low + b",}"

    return _BOUNDED.sub(opened, expression)


def hyperscan_available() -> bool:
    return _hs is not None


def hyperscan_expression(pattern: str) -> bytes:
    """The rule's pattern for hyperscan: named groups made non-capturing."""
    return _NAMED_GROUP.sub("(?:", pattern).encode("utf-8")


class HyperscanPrefilter:
    def __init__(self, rules: Sequence[Rule], anchors: Sequence[str], *, known_id: int) -> None:
        assert _hs is not None
        self.rejected: list[int] = []
        base = _hs.HS_FLAG_MULTILINE  # ^ and $ at line boundaries, as `confirm` sees lines
        entries: list[tuple[bytes, int, int]] = []  # (expression, id, flags)
        for index, rule in enumerate(rules):
            flag = base
            if rule.ignore_case:
                flag |= _hs.HS_FLAG_CASELESS
            if rule.multiline:
                flag |= _hs.HS_FLAG_DOTALL
            entries.append((relaxed(hyperscan_expression(rule.pattern)), index, flag))
        # Anchors share one id: a hit only says "look for known values on this line".
        self._known_raw = known_id & 0xFFFFFFFF
        self._known_id = known_id
        for anchor in anchors:
            literal = re.escape(anchor).encode("utf-8", "surrogateescape")
            entries.append((literal, self._known_raw, base))
        self._db: Any = None
        if entries:
            self._db = self._load_or_compile(entries)

    def _load_or_compile(self, entries: list[tuple[bytes, int, int]]) -> Any:
        assert _hs is not None
        try:
            return database_cache.load_or_build(entries, _compile)
        except _hs.error:
            pass
        # Some pattern is beyond hyperscan: find which, retry those as prefilter patterns
        # (a superset), and leave the rest to the keyword prefilter.
        kept: list[tuple[bytes, int, int]] = []
        for expr, ident, flag in entries:
            for candidate in (flag, flag | _hs.HS_FLAG_PREFILTER):
                try:
                    _compile([(expr, ident, candidate)])
                except _hs.error:
                    continue
                kept.append((expr, ident, candidate))
                break
            else:
                self.rejected.append(ident)
        return database_cache.load_or_build(kept, _compile) if kept else None

    def hits(self, text: str) -> list[tuple[int, int]]:
        if self._db is None or not text:
            return []
        ascii_text = text.isascii()
        data = text.encode("ascii") if ascii_text else text.encode("utf-8", "surrogateescape")
        found: list[tuple[int, int]] = []
        add = found.append
        last: dict[int, int] = {}

        find = data.find

        def on_match(rule: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            # Unbounded patterns report every end offset; one hit per rule per line suffices
            # because the engine confirms the whole line around a hit.
            prev = last.get(rule, -1)
            if prev >= 0 and find(b"\n", prev, end - 1) == -1:
                return
            last[rule] = end - 1
            add((rule, end - 1))

        self._db.scan(data, match_event_handler=on_match)
        known_raw, known_id = self._known_raw, self._known_id
        found = [(known_id if r == known_raw else r, p) for r, p in found]
        if ascii_text:
            return found
        return _bytes_to_chars(data, found)


def _bytes_to_chars(data: bytes, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Map byte offsets to character offsets, snapped to the start of the hit's line."""
    hits.sort(key=lambda h: h[1])
    out: list[tuple[int, int]] = []
    byte_at, char_at = 0, 0
    for rule, pos in hits:
        line_start = data.rfind(b"\n", 0, pos) + 1
        if line_start < byte_at:  # same line as an earlier hit
            line_start = byte_at
        char_at += len(data[byte_at:line_start].decode("utf-8", "surrogateescape"))
        byte_at = line_start
        out.append((rule, char_at))
    return out


class KeywordPrefilter:
    def __init__(
        self,
        rules: Sequence[Rule],
        indexes: Sequence[int],
        anchors: Sequence[str],
        *,
        known_id: int,
    ) -> None:
        self._keywords: dict[str, list[int]] = {}
        for index in indexes:
            for keyword in rules[index].keywords:
                self._keywords.setdefault(keyword.lower(), []).append(index)
        self._anchors = tuple(anchors)
        self._known_id = known_id
        self.empty = not self._keywords and not self._anchors
        self._automaton: Any = None
        if _ac is not None and self._keywords:
            self._automaton = _ac.Automaton()
            for keyword, owners in self._keywords.items():
                self._automaton.add_word(keyword, (len(keyword), tuple(owners)))
            self._automaton.make_automaton()

    def hits(self, text: str) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        lowered = text.lower()
        if len(lowered) != len(text):  # a few characters lowercase to two; keep offsets exact
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        if self._automaton is not None:
            for end, (length, owners) in self._automaton.iter(lowered):
                pos = end - length + 1
                found.extend((owner, pos) for owner in owners)
        else:
            for keyword, owners in self._keywords.items():
                pos = lowered.find(keyword)
                while pos != -1:
                    found.extend((owner, pos) for owner in owners)
                    pos = lowered.find(keyword, pos + 1)
        for anchor in self._anchors:
            pos = text.find(anchor)
            while pos != -1:
                found.append((self._known_id, pos))
                pos = text.find(anchor, pos + 1)
        return found
