"""Second stage of matching: given text a rule may match, return the confirmed secret spans.

The engine's first stage (a multi-pattern prefilter) only says which rules may match where;
this module applies the rule exactly: its regex, the `secret` group, entropy, the rule's own
validator and, unless the rule opts out, the placeholder/example filters. Rules tagged
"generic" (key-name rules with no value format of their own) also pass the benign-value
filters (those also tagged "password", whose key is an unmistakable password key, the
password variant that keeps chosen passwords such as `Winter2023`). The checks run cheapest
first; none of them sees more than one candidate value.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import cache

from scanners import filters
from scanners.rule import Rule


@cache
def compiled(rule: Rule) -> re.Pattern[str]:
    flags = re.IGNORECASE if rule.ignore_case else 0
    if rule.multiline:
        flags |= re.DOTALL
    return re.compile(rule.pattern, flags)


def shannon_entropy(text: str) -> float:
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def secret_spans(
    rule: Rule,
    text: str,
    pos: int = 0,
    endpos: int | None = None,
    *,
    exclude: Sequence[tuple[int, int]] = (),
) -> list[tuple[int, int]]:
    """Spans (start, end exclusive) of the secrets `rule` confirms in `text`.

    `pos`/`endpos` bound the search as in `re.Pattern.finditer` (the engine passes the region
    its prefilter located); the text before `pos` still counts as context for `\\b` and `^`.
    Candidates overlapping a span in `exclude` (already found by a more specific rule) are
    dropped before the filters run."""
    spans: list[tuple[int, int]] = []
    stop = len(text) if endpos is None else endpos
    for match in compiled(rule).finditer(text, pos, stop):
        if "secret" in match.re.groupindex and match.group("secret") is not None:
            start, end = match.span("secret")
        else:
            start, end = match.span()
        value = text[start:end]
        if not value:
            continue
        if exclude and any(s < end and start < e for s, e in exclude):
            continue
        if rule.min_entropy and shannon_entropy(value) < rule.min_entropy:
            continue
        if not rule.skip_filters and filters.is_placeholder(value):
            continue
        if "generic" in rule.tags and (
            filters.is_benign_password(value) if "password" in rule.tags else filters.is_benign(value)
        ):
            continue
        if rule.validate is not None and not rule.validate(value):
            continue
        if rule.validate_match is not None and not rule.validate_match(match):
            continue
        spans.append((start, end))
    return spans
