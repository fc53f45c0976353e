"""Redact a Python service's own logs: `scanners.logfilter.install()` is the whole setup.

The filter renders each record's message (msg % args) and any exception or stack text,
redacts them, and stores the result back on the record (args cleared, exc_text set), so every
handler and formatter downstream sees only redacted text. It must sit on handlers: filters on
a logger do not see records propagated from child loggers, handlers do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from functools import lru_cache

from scanners.engine import Engine
from scanners.errors import KnownValueRejected
from scanners.known import KnownValues
from scanners.redactor import DEFAULT_MARKER, redact_text

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def default_engine() -> Engine:
    from scanners.rules import ALL_RULES

    return Engine(ALL_RULES)


class RedactingFilter(logging.Filter):
    def __init__(self, engine: Engine | None = None, *, marker: str = DEFAULT_MARKER) -> None:
        super().__init__()
        self.engine = engine or default_engine()
        self.marker = marker
        self._formatter = logging.Formatter()
        self._known = KnownValues()
        # Handlers call filters outside their own lock, and an engine is not safe to share
        # between threads (hyperscan scratch space, the clean-window cache).
        self._lock = threading.RLock()

    def learn(self, values: Iterable[tuple[str, str]]) -> None:
        """Mask these `(label, value)` pairs by value in every later record, in all the forms
        the engine knows (plain, JSON-escaped, URL-encoded, base64), even without a format.

        A value too short or too plain to mask safely is skipped with a warning naming only
        its label. The rule database is shared; only the values' small matcher is rebuilt.
        """
        added = False
        with self._lock:
            for label, value in values:
                try:
                    self._known.add(value, source=label)
                except KnownValueRejected as exc:
                    log.warning("%s is not masked by value: %s", label, exc.reason)
                else:
                    added = True
            if added:
                self.engine = Engine(self.engine.rules, self._known, backend=self.engine.backend)

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            return self._filter(record)

    def _filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_sluice_redacted", False):
            return True  # several handlers share one record; redact it once
        message = record.getMessage()
        record.msg = redact_text(self.engine, message, marker=self.marker)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(self.engine, record.exc_text, marker=self.marker)
        if record.stack_info:
            record.stack_info = redact_text(self.engine, record.stack_info, marker=self.marker)
        record._sluice_redacted = True
        return True


def _handlers(logger: logging.Logger | None) -> list[logging.Handler]:
    """`logger`'s handlers, or the root's when it has none (records propagate there)."""
    target = logger or logging.getLogger()
    return target.handlers or logging.getLogger().handlers


def _filters(logger: logging.Logger | None) -> list[RedactingFilter]:
    found: dict[int, RedactingFilter] = {}
    for handler in _handlers(logger):
        for f in handler.filters:
            if isinstance(f, RedactingFilter):
                found[id(f)] = f
    return list(found.values())


def install(
    logger: logging.Logger | None = None, *, engine: Engine | None = None
) -> RedactingFilter:
    """Add one shared redacting filter to every handler of `logger` (the root by default);
    installing again reuses the filter already there, so nothing is redacted twice."""
    if not _handlers(logger):
        logging.basicConfig()
    existing = _filters(logger)
    redacting = existing[0] if existing else RedactingFilter(engine)
    for handler in _handlers(logger):
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redacting)
    return redacting


def learn(values: Iterable[tuple[str, str]], logger: logging.Logger | None = None) -> None:
    """Mask these `(label, value)` pairs by value in the filters installed on `logger`."""
    pairs = [(label, value) for label, value in values if value]
    for redacting in _filters(logger):
        redacting.learn(pairs)
