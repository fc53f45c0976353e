"""Own logs through the leak guard: `install()` once at CLI start, `learn(values)` when secrets arrive.

Every handler of the root logger gets the scanners' redacting filter with all provider rules.
Secrets that have no recognisable format (an accessor, a custom-id OpenBao token) are masked
because the process registers the exact values it holds as soon as it holds them: `learn`
swaps the filter's engine for one that also knows them (engines are immutable; the swap is a
single attribute store, safe against a concurrent log call).

Used by the sidecar and `sluice run`, and by the broker (`broker/logs.py`) for its own token.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from scanners.logfilter import RedactingFilter
from sidecar.redaction import engine_with, rule_engine

_learned: list[tuple[str, str]] = []  # (label, value): logging is process-global, so is this


def install(logger: logging.Logger | None = None) -> RedactingFilter:
    """Put one redacting filter (all provider rules) on every handler of `logger` (root)."""
    target = logger or logging.getLogger()
    if not target.handlers:
        logging.basicConfig()
    redacting = RedactingFilter(engine_with(_learned, rule_engine()))
    for handler in target.handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redacting)
    return redacting


def learn(values: Iterable[tuple[str, str]], logger: logging.Logger | None = None) -> None:
    """Mask these (label, value) pairs, by value, in every later record of the installed filters."""
    fresh = [v for v in values if v[1] and v not in _learned]
    if not fresh:
        return
    _learned.extend(fresh)
    engine = engine_with(_learned, rule_engine())
    target = logger or logging.getLogger()
    for handler in target.handlers:
        for existing in handler.filters:
            if isinstance(existing, RedactingFilter):
                existing.engine = engine
