"""`scanners.logfilter` as the sidecar uses it: the own-log filter masks values learned after it was installed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from scanners import logfilter as logs

VALUE = "Zr8q2LmXw9TtYk3VbN7cPf4Hn"


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A private logger with one handler, so the root logger (and pytest's capture) is untouched."""
    sink = io.StringIO()
    target = logging.getLogger("sluice.test.own-logs")
    target.propagate = False
    target.setLevel(logging.INFO)
    handler = logging.StreamHandler(sink)
    target.addHandler(handler)
    try:
        yield target, sink
    finally:
        target.removeHandler(handler)


def test_a_value_learned_later_is_masked_in_every_form(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    """Before `learn` a format-less value passes; after it, plain and JSON forms and exception
    text are masked."""
    target, sink = logger
    logs.install(target)
    target.info("before %s", VALUE)
    assert VALUE in sink.getvalue()  # nothing recognisable about it: only its value can tell
    logs.learn([("a test value", VALUE)], target)
    sink.truncate(0)
    sink.seek(0)
    target.info("after %s %s", VALUE, json.dumps({"v": VALUE}))
    try:
        raise ValueError(f"refused {VALUE}")
    except ValueError:
        target.exception("failed")
    text = sink.getvalue()
    assert VALUE not in text
    assert text.count("[REDACTED:known-value]") == 3
    assert "ValueError: refused [REDACTED:known-value]" in text


def test_install_twice_keeps_one_filter_per_handler(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    """Installing again (a second CLI setup in one process) does not redact twice."""
    target, _ = logger
    logs.install(target)
    logs.install(target)
    assert target.handlers and all(len(h.filters) == 1 for h in target.handlers)
