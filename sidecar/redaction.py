"""The leak guard's engine for `sluice run`'s output: provider rules + the session's values.

The provider-rule engine is loaded once per process (its hyperscan database comes from the
on-disk cache); an engine with the session's values shares that database and adds only a small
matcher for the values (tens of milliseconds). Each output guard gets an engine of its own:
engines are not safe to share between threads, and the log filter has its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from scanners.engine import Engine
from scanners.errors import KnownValueRejected
from scanners.known import KnownValues
from scanners.logfilter import default_engine

log = logging.getLogger(__name__)


def rule_engine() -> Engine:
    """The process's provider-rule engine (all rules), built or loaded once."""
    return default_engine()


def known_values(values: Iterable[tuple[str, str]]) -> KnownValues:
    """Register each `(label, value)`; a value too short or too plain to mask is skipped with
    a warning naming only its label (masking `admin` everywhere would hide ordinary text)."""
    known = KnownValues()
    for label, value in values:
        try:
            known.add(value, source=label)
        except KnownValueRejected as exc:
            log.warning("%s is not masked by value: %s", label, exc.reason)
    return known


def engine_with(values: Iterable[tuple[str, str]], base: Engine | None = None) -> Engine:
    """A new engine: `base`'s rules (all provider rules by default) plus exact matching of
    `values` in all their forms."""
    base = base if base is not None else rule_engine()
    return Engine(base.rules, known_values(values), backend=base.backend)
