"""The leak guard's engine for the sidecar and `sluice run`: provider rules + the session's values.

- The provider-rule engine is loaded once per process (its hyperscan database comes from the
  on-disk cache) and shared by the log filter and the output redactors.
- The values a session brings (its token and accessor, the identity JWT) are matched by a
  small known-values engine beside it. Registering them with the rule engine itself would
  recompile the whole rule database for every session (seconds, and one cache file each).
- Engines are not thread-safe (hyperscan scratch space, the clean-window cache) and `sluice
  run` redacts in a thread while the event loop logs: every `find` takes one process-wide lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from scanners.engine import Engine
from scanners.errors import KnownValueRejected
from scanners.findings import Span
from scanners.known import KnownValues

log = logging.getLogger(__name__)
_FIND_LOCK = threading.Lock()


def rule_engine() -> Engine:
    """The process's provider-rule engine (all rules), built or loaded once."""
    from scanners.logfilter import default_engine  # lru-cached: one engine per process

    return default_engine()


class SessionEngine(Engine):
    """`base`'s rules plus exact matching of `known`, without recompiling `base`.

    Shares the base engine's compiled state instead of calling `Engine.__init__` (which would
    fold the values' anchors into the rule database); the values get an engine of their own
    on the pure-Python prefilter, a handful of `str.find` calls per chunk.
    """

    def __init__(self, base: Engine, known: KnownValues) -> None:
        self.__dict__.update(vars(base))
        self._base = base
        self._values = Engine([], known, backend="python")
        self.known = known
        # The redactor's window overlap must cover the longest form of a value too.
        self.max_line_secret = max(base.max_line_secret, known.max_length)

    def find(self, text: str) -> list[Span]:
        with _FIND_LOCK:
            spans = self._base.find(text)
            extra = self._values.find(text)
        if not extra:
            return spans
        return self._resolve(set(spans) | set(extra))

    def first_trigger(self, text: str) -> int:
        with _FIND_LOCK:
            return self._base.first_trigger(text)


class LockedEngine(Engine):
    """`base` with its `find` behind the process-wide lock (no values registered yet)."""

    def __init__(self, base: Engine) -> None:
        self.__dict__.update(vars(base))
        self._base = base

    def find(self, text: str) -> list[Span]:
        with _FIND_LOCK:
            return self._base.find(text)

    def first_trigger(self, text: str) -> int:
        with _FIND_LOCK:
            return self._base.first_trigger(text)


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
    """The rule engine plus exact matching of `values` (label, value) in all their forms."""
    base = base if base is not None else rule_engine()
    known = known_values(values)
    return SessionEngine(base, known) if len(known) else LockedEngine(base)
