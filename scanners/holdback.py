"""Idle flush: how much of an unfinished line may be shown before it ends. Pure: no I/O.

`safe_end(engine, text, shown, cut)` is the furthest point up to which an unfinished line can be
redacted and shown now, such that the text after it, whatever it turns out to be, can neither
hide a secret in what was shown nor change how it is redacted. `hold_plan` precomputes, once
per rule set, which rules allow a cut at whitespace and what must be held for the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from scanners.confirm import compiled
from scanners.engine import Engine, max_width
from scanners.rule import Rule

_parser: Any = re._parser  # type: ignore[attr-defined]  # the stdlib's own pattern parser
_sre: Any = re._constants  # type: ignore[attr-defined]


# A cut after one of CUT_CHARS is safe for a rule when (checked on its parse tree, `_audit`):
# (a) its secret cannot contain the character, so a secret starting before the cut ends before
#     it and lies wholly in text already seen; and (b) after the secret the pattern cannot
#     consume the character and then read on (END-style tails `(?:[^A-Za-z0-9_-]|$)` and closing
#     quotes pass), so that secret's whole match is in text already seen too.
# Whitespace is the set: provider tokens, base64, URLs, JWTs and the generic rules' values are
# all whitespace-free, and "\r" is in it so progress redraws stream. The characters tokens use
# (- _ + / = . : @ % and letters, digits) are never cut after: a value still arriving is held.
# Rules that fail (a) or (b) — ADO.NET passwords may hold spaces, PEM headers are words — are
# held from wherever their leading literal ("-----BEGIN ", "server=") occurs or may be starting;
# known values (any character) from wherever one of their anchors occurs or may be starting.
# Shadowing: a match that only exists because the text ends here (`$`) could hide, in the regex
# scan, another match that starts before the cut once more text arrives; a pattern match ending
# exactly at the end of the text so far is therefore held from its start.
CUT_CHARS = " \t\r\f\v"
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)
_CATEGORY = {
    _sre.CATEGORY_SPACE: r"\s",
    _sre.CATEGORY_NOT_SPACE: r"\S",
    _sre.CATEGORY_DIGIT: r"\d",
    _sre.CATEGORY_NOT_DIGIT: r"\D",
    _sre.CATEGORY_WORD: r"\w",
    _sre.CATEGORY_NOT_WORD: r"\W",
}
_Items = Any  # a parsed pattern sequence (re's SubPattern or a list of (op, arg) items)


def _in_set(items: _Items, char: str) -> bool:
    negate, hit = False, False
    for op, arg in items:
        if op is _sre.NEGATE:
            negate = True
        elif op is _sre.LITERAL:
            hit = hit or chr(arg) == char
        elif op is _sre.RANGE:
            hit = hit or arg[0] <= ord(char) <= arg[1]
        elif op is _sre.CATEGORY and arg in _CATEGORY:
            hit = hit or re.fullmatch(_CATEGORY[arg], char) is not None
        else:
            return True  # unknown: assume it may
    return hit != negate


def _may_consume(items: _Items, char: str) -> bool:
    """Whether some path through `items` consumes `char` (conservative: unknown means yes)."""
    for op, arg in items:
        if op is _sre.AT:
            continue
        if op is _sre.LITERAL:
            found = chr(arg) == char
        elif op is _sre.NOT_LITERAL:
            found = chr(arg) != char
        elif op is _sre.ANY:
            found = True
        elif op is _sre.IN:
            found = _in_set(arg, char)
        elif op in _REPEATS:
            found = arg[1] > 0 and _may_consume(arg[2], char)
        elif op is _sre.SUBPATTERN:
            found = _may_consume(arg[3], char)
        elif op is _sre.BRANCH:
            found = any(_may_consume(alt, char) for alt in arg[1])
        else:
            found = True
        if found:
            return True
    return False


def _ends_after(items: _Items, char: str) -> bool:
    """Whether every path through `items` that consumes `char` stops right there: no further
    character and no assertion."""
    for i, (op, arg) in enumerate(items):
        if not _may_consume([(op, arg)], char):
            continue
        if op in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.ANY, _sre.IN):
            last = True
        elif op is _sre.SUBPATTERN:
            last = _ends_after(arg[3], char)
        elif op is _sre.BRANCH:
            last = all(_ends_after(alt, char) for alt in arg[1])
        elif op in _REPEATS:
            last = arg[1] <= 1 and _ends_after(arg[2], char)
        else:
            last = False
        rest = [item for item in items[i + 1 :] if not (item[0] in _REPEATS and item[1][1] == 0)]
        if not last or rest:
            return False
    return True


def _secret_and_tail(items: _Items, group: int) -> tuple[_Items, list[Any]] | None:
    """The secret group's items and what follows it; None when it sits in a branch or repeat."""
    for i, (op, arg) in enumerate(items):
        if op is _sre.SUBPATTERN:
            if arg[0] == group:
                return arg[3], list(items[i + 1 :])
            inner = _secret_and_tail(arg[3], group)
            if inner is not None:
                return inner[0], inner[1] + list(items[i + 1 :])
    return None


def _leading(items: _Items) -> tuple[list[str], bool]:
    """Lowercase literals one of which every match starts with; and whether they are all of it."""
    alts = [""]
    for op, arg in items:
        if op is _sre.AT and alts == [""]:
            continue
        if op is _sre.LITERAL:
            sub, whole = [chr(arg).lower()], True
        elif op is _sre.SUBPATTERN:
            sub, whole = _leading(arg[3])
        elif op is _sre.BRANCH:
            parts = [_leading(alt) for alt in arg[1]]
            sub, whole = [s for p in parts for s in p[0]], all(p[1] for p in parts)
        else:
            return alts, False
        alts = [a + s for a in alts for s in sub]
        if not whole or len(alts) > 64:
            return alts, False
    return alts, True


def _audit(rule: Rule) -> bool:
    """True when a cut after any of CUT_CHARS is safe for `rule` (see the section comment)."""
    if rule.multiline:
        return False
    flags = re.IGNORECASE if rule.ignore_case else 0
    try:
        tree = _parser.parse(rule.pattern, flags)
    except re.error:  # pragma: no cover - rules are validated
        return False
    group = tree.state.groupdict.get("secret")
    found = _secret_and_tail(tree, group) if group is not None else (tree, [])
    if found is None:
        return False
    secret, tail = found
    return not any(_may_consume(secret, c) for c in CUT_CHARS) and all(
        _ends_after(tail, c) for c in CUT_CHARS
    )


@dataclass(frozen=True)
class HoldPlan:
    """Per rule set: which rules a cut after whitespace is safe for, and how to hold the rest."""

    # keyword -> (the widest rule holding it, [(rule, width)]) for the rules a cut is safe for
    keywords: dict[str, tuple[int, list[tuple[Rule, int]]]]
    literals: tuple[tuple[tuple[str, ...], int], ...]  # (leading literals, width) of the rest
    blind: int  # the rest without a leading literal: hold this many trailing characters
    reach: int  # widest rule: nothing further back than this matters


@cache
def hold_plan(rules: tuple[Rule, ...]) -> HoldPlan:
    keywords: dict[str, tuple[int, list[tuple[Rule, int]]]] = {}
    literals: list[tuple[tuple[str, ...], int]] = []
    blind, reach = 0, 1
    for rule in rules:
        width = max_width(rule)
        reach = max(reach, width)
        if _audit(rule):
            for keyword in rule.keywords:
                widest, holders = keywords.setdefault(keyword, (0, []))
                holders.append((rule, width))
                keywords[keyword] = (max(widest, width), holders)
            continue
        flags = re.IGNORECASE if rule.ignore_case else 0
        leads, _ = _leading(_parser.parse(rule.pattern, flags))
        if all(len(lead) >= 3 for lead in leads):
            literals.append((tuple(sorted(set(leads))), width))
        else:
            blind = max(blind, width)
    return HoldPlan(keywords, tuple(literals), blind, reach)


def _lowered(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):  # a character whose lower case is longer: keep offsets
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lowered


def _starting(text: str, literal: str, lo: int) -> int:
    """First offset >= lo where `literal` occurs in `text` or may be beginning at its end."""
    at = text.find(literal, lo)
    if at != -1:
        return at
    at = text.find(literal[0], max(lo, len(text) - len(literal) + 1))
    while at != -1:
        if literal.startswith(text[at:]):
            return at
        at = text.find(literal[0], at + 1)
    return len(text)


def safe_end(engine: Engine, text: str, shown: int, cut: int, plan: HoldPlan | None = None) -> int:
    """How far `text` (an unfinished line; text[:shown] already emitted) may be emitted now,
    at most up to `cut` (just after a CUT_CHARS character): no secret that more text could
    complete, or reveal by ending the line differently, starts before the answer."""
    plan = plan or hold_plan(engine.rules)
    n, end = len(text), cut
    base = max(shown - plan.reach, 0)  # offsets below are relative to it
    lowered = _lowered(text[base:])
    for leads, width in plan.literals:
        lo = max(shown - width - base, 0)
        for lead in leads:
            end = min(end, base + _starting(lowered, lead, lo))
    if plan.blind:
        end = min(end, n - plan.blind)
    known = engine.known
    if known is not None:
        lo = max(n - known.max_length + 1, 0)
        for anchor in known.anchors:
            end = min(end, _starting(text, anchor, lo))
    if end <= shown:
        return shown
    flagged: dict[str, tuple[Rule, int]] = {}
    for keyword, (widest, holders) in plan.keywords.items():
        at = lowered.rfind(keyword, max(n - widest - base, 0))
        if at != -1:
            for rule, width in holders:
                if base + at >= n - width:
                    flagged[rule.id] = (rule, width)
    for rule, width in flagged.values():
        pattern = compiled(rule)
        for at in range(max(n - width, 0), min(end, n)):
            match = pattern.match(text, at)
            if match is not None and match.end() == n:
                end = at
                break
    return max(end, shown)
