"""Redact a Python service's own logs: `scanners.logfilter.install()` is the whole setup.

The filter renders each record's message (msg % args) and any exception or stack text,
redacts them, and stores the result back on the record (args cleared, exc_text set), so every
handler and formatter downstream sees only redacted text. It must sit on handlers: filters on
a logger do not see records propagated from child loggers, handlers do.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from scanners.engine import Engine
from scanners.redactor import DEFAULT_MARKER, redact_text


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

    def filter(self, record: logging.LogRecord) -> bool:
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


def install(
    logger: logging.Logger | None = None, *, engine: Engine | None = None
) -> RedactingFilter:
    """Add one shared redacting filter to every handler of `logger` (the root by default)."""
    target = logger or logging.getLogger()
    redacting = RedactingFilter(engine)
    handlers = target.handlers or logging.getLogger().handlers
    if not handlers:
        logging.basicConfig()
        handlers = logging.getLogger().handlers
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redacting)
    return redacting
