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

import bisect
import re
from collections.abc import Sequence
from typing import Any

from scanners import database_cache
from scanners.rule import Rule

try:  # optional compiled engines; the pure-Python path must work without them
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised by forcing backend="python"
    _hs = None  # type: ignore[assignment]
try:
    import ahocorasick as _ac
except ImportError:  # pragma: no cover
    _ac = None

# (rule index, anchor offset on the hit's line, earliest match start or -1, first match end or
# -1, last match end or -1): what the engine needs to confirm just the right part of a line.
Hit = tuple[int, int, int, int, int]

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


def _group_end(pattern: str, open_at: int) -> int:
    """Index just past the parenthesis closing the group that opens at `open_at`, or -1."""
    depth, i, in_class = 0, open_at, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":  # `[]...]`: a literal ] first
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


_TAIL_REPEAT = re.compile(r"(?<!\\)\{(\d+),\d*\}\)$")


def prefix_pattern(pattern: str) -> str | None:
    """The pattern cut right after the shortest value its `secret` group can hold (a group
    ending `X{m,n}` becomes `X{m}`, and what follows the group is dropped), or None when the
    group does not end in such a repeat. Every match of the pattern begins with a match of
    the prefix, so the prefix flags the same lines; a value of n characters then costs one
    hyperscan callback instead of one per possible end."""
    at = pattern.find("(?P<secret>")
    if at == -1:
        return None
    end = _group_end(pattern, at)
    if end == -1:
        return None
    group = pattern[at:end]
    cut = _TAIL_REPEAT.sub(lambda m: "{" + m.group(1) + "})", group)
    return None if cut == group else pattern[:at] + cut


def wants_start(rule: Rule) -> bool:
    """Rules whose Python pattern is slow to search (a variable-length key-name prefix) get
    start-of-match reporting, so confirmation starts exactly where the match does."""
    return "generic" in rule.tags or rule.pattern.startswith("(?P<key>")


def hyperscan_available() -> bool:
    return _hs is not None


def hyperscan_expression(pattern: str) -> bytes:
    """The rule's pattern for hyperscan: named groups made non-capturing."""
    return _NAMED_GROUP.sub("(?:", pattern).encode("utf-8")


class _Database:
    """One compiled hyperscan database; patterns it cannot take are listed in `rejected`."""

    def __init__(self, entries: list[tuple[bytes, int, int]], *, cache: bool = True) -> None:
        assert _hs is not None
        self.rejected: list[int] = []
        self.db: Any = None
        if not entries:
            return
        try:
            self.db = database_cache.load_or_build(entries, _compile) if cache else _compile(entries)
            return
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
        self.db = database_cache.load_or_build(kept, _compile) if kept else None


class HyperscanPrefilter:
    """One database of every rule scans whole buffers (one database beats several: measured);
    known-value anchors have their own, never cached on disk; the generic key-name rules are
    compiled once more with start-of-match reporting, which is several times too slow for
    whole buffers and so runs only on the few lines where a generic rule already matched."""

    def __init__(self, rules: Sequence[Rule], anchors: Sequence[str], *, known_id: int) -> None:
        assert _hs is not None
        base = _hs.HS_FLAG_MULTILINE  # ^ and $ at line boundaries, as `confirm` sees lines
        main: list[tuple[bytes, int, int]] = []  # (expression, id, flags)
        generic: list[tuple[bytes, int, int]] = []  # kept last: stable ids, one database
        starts: list[tuple[bytes, int, int]] = []
        prefixes: dict[int, bytes] = {}
        for index, rule in enumerate(rules):
            flag = base
            if rule.ignore_case:
                flag |= _hs.HS_FLAG_CASELESS
            if rule.multiline:
                flag |= _hs.HS_FLAG_DOTALL
            expr = relaxed(hyperscan_expression(rule.pattern))
            if wants_start(rule):
                generic.append((expr, index, flag))
                starts.append((expr, index, flag | _hs.HS_FLAG_SOM_LEFTMOST))
                prefix = prefix_pattern(rule.pattern)
                if prefix is not None:
                    prefixes[index] = relaxed(hyperscan_expression(prefix))
            else:
                main.append((expr, index, flag))
        # The start-reporting pass gives exact bounds on the lines the main pass flags, so the
        # main pass needs only the prefix of those rules (their ends are then not match ends).
        self._starts = _Database(starts)
        self.with_start = {i for _, i, _ in starts} - set(self._starts.rejected)
        self._prefix_only = frozenset(i for i in prefixes if i in self.with_start)
        generic = [(prefixes[i], i, f) if i in self._prefix_only else (e, i, f)
                   for e, i, f in generic]
        # Anchors share one id: a hit only says "look for known values on this line".
        self._known_raw = known_id & 0xFFFFFFFF
        self._known_id = known_id
        # Known values change per run and must not be written to disk, even as anchors: their
        # literals get a small database of their own, compiled in memory (milliseconds).
        known = [
            (re.escape(anchor).encode("utf-8", "surrogateescape"), self._known_raw, base)
            for anchor in anchors
        ]
        databases = (_Database(main + generic), _Database(known, cache=False))
        self._scanned = [d for d in databases if d.db is not None]
        self.rejected = sorted({i for d in databases for i in d.rejected} - {self._known_raw})
        self._triggers: _Database | None = None

    def set_triggers(self, keywords: Sequence[str]) -> None:
        """Literals (case-insensitive) whose first occurrence `first_trigger` reports."""
        assert _hs is not None
        flag = _hs.HS_FLAG_CASELESS | _hs.HS_FLAG_SINGLEMATCH
        entries = [(re.escape(k).encode(), 0, flag) for k in keywords]
        self._triggers = _Database(entries) if entries else None

    def first_trigger(self, text: str) -> int | None:
        """Character offset of the first trigger's end, -1 if none; None if not available."""
        if self._triggers is None or self._triggers.db is None or not text.isascii():
            return None
        found: list[int] = []

        def on_match(_rule: int, _start: int, end: int, _flags: int, _ctx: object) -> bool:
            found.append(end)
            return True  # the first (earliest-ending) occurrence is all we need

        try:
            self._triggers.db.scan(text.encode("ascii"), match_event_handler=on_match)
        except _hs.ScanTerminated:  # pragma: no cover - depends on the bindings' version
            pass
        return found[0] if found else -1

    def starts(self, lines: Sequence[str]) -> list[dict[int, tuple[int, int, int]] | None]:
        """Per line: rule -> (earliest start, first end, last end), offsets within the line, for
        the rules that report starts; None for a line whose offsets cannot be given (non-ASCII).
        The lines are scanned together, newline-joined, in one call."""
        if self._starts.db is None:
            return [None] * len(lines)
        usable = [line if line.isascii() else "" for line in lines]
        offsets: list[int] = []
        at = 0
        for line in usable:
            offsets.append(at)
            at += len(line) + 1
        found: list[dict[int, tuple[int, int, int]]] = [{} for _ in lines]
        locate = bisect.bisect_right

        def on_match(rule: int, start: int, end: int, _flags: int, _ctx: object) -> None:
            index = locate(offsets, end - 1) - 1
            base = offsets[index]
            start, end = max(start - base, 0), end - base  # a match from an earlier line: clamp
            per_line = found[index]
            seen = per_line.get(rule)
            per_line[rule] = (start, end, end) if seen is None else (min(seen[0], start), seen[1], end)

        self._starts.db.scan("\n".join(usable).encode("ascii"), match_event_handler=on_match)
        return [f if line.isascii() else None for f, line in zip(found, lines)]

    def hits(self, text: str) -> list[Hit]:
        if not self._scanned or not text:
            return []
        ascii_text = text.isascii()
        data = text.encode("ascii") if ascii_text else text.encode("utf-8", "surrogateescape")
        found: list[list[int]] = []
        current: dict[int, list[int]] = {}
        find = data.find

        def on_match(rule: int, start: int, end: int, _flags: int, _ctx: object) -> None:
            # Unbounded patterns report every end offset: fold the hits of one rule on one line
            # into [rule, anchor, earliest start (unknown here), first end, last end].
            hit = current.get(rule)
            if hit is not None and find(b"\n", hit[4] - 1, end - 1) == -1:
                hit[4] = end
                return
            hit = [rule, end - 1, -1, end, end]
            current[rule] = hit
            found.append(hit)

        for database in self._scanned:
            current.clear()
            database.db.scan(data, match_event_handler=on_match)
        known_raw, known_id, prefix_only = self._known_raw, self._known_id, self._prefix_only
        hits = [
            (known_id, h[1], h[2], h[3], h[4]) if h[0] == known_raw
            else (h[0], h[1], -1, -1, -1) if h[0] in prefix_only
            else (h[0], h[1], h[2], h[3], h[4])
            for h in found
        ]
        if ascii_text:
            return hits
        return _bytes_to_chars(data, hits)


def _bytes_to_chars(data: bytes, hits: list[Hit]) -> list[Hit]:
    """Map byte offsets to character offsets. Offsets on a line that is not plain ASCII are
    given up (-1): the engine then confirms that whole line."""
    hits.sort(key=lambda h: h[1])
    out: list[Hit] = []
    byte_at, char_at = 0, 0
    for rule, anchor, start, first_end, last_end in hits:
        line_start = data.rfind(b"\n", 0, anchor) + 1
        line_start = max(line_start, byte_at)  # a later hit on an earlier hit's line
        char_at += len(data[byte_at:line_start].decode("utf-8", "surrogateescape"))
        byte_at = line_start
        line_end = data.find(b"\n", anchor)
        line = data[line_start : len(data) if line_end == -1 else line_end]
        if line.isascii():
            shift = char_at - line_start
            out.append((rule, anchor + shift, start + shift if start >= 0 else -1,
                        first_end + shift, last_end + shift))
        else:
            out.append((rule, char_at, -1, -1, -1))
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

    def hits(self, text: str) -> list[Hit]:
        found: list[Hit] = []
        lowered = text.lower()
        if len(lowered) != len(text):  # a few characters lowercase to two; keep offsets exact
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        if self._automaton is not None:
            for end, (length, owners) in self._automaton.iter(lowered):
                pos = end - length + 1
                found.extend((owner, pos, -1, -1, -1) for owner in owners)
        else:
            for keyword, owners in self._keywords.items():
                pos = lowered.find(keyword)
                while pos != -1:
                    found.extend((owner, pos, -1, -1, -1) for owner in owners)
                    pos = lowered.find(keyword, pos + 1)
        for anchor in self._anchors:
            pos = text.find(anchor)
            while pos != -1:
                found.append((self._known_id, pos, -1, -1, -1))
                pos = text.find(anchor, pos + 1)
        return found
