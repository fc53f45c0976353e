from __future__ import annotations

import io
import logging

from scanners.engine import Engine
from scanners.logfilter import RedactingFilter, install
from tests.unit.scanners.ruleset import GH_TOKEN, PASSWORD_VALUE, RULES


def make_logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger, stream


def test_one_line_setup_redacts_message_args_and_tracebacks() -> None:
    """After install(), args, messages and exception text reach handlers redacted."""
    logger, stream = make_logger("sluice.test.logfilter")
    install(logger, engine=Engine(RULES, backend="python"))
    logger.info("token %s in use", GH_TOKEN)
    logger.info(f"password={PASSWORD_VALUE}")
    try:
        raise RuntimeError(f"login failed with password={PASSWORD_VALUE}")
    except RuntimeError:
        logger.exception("boom")
    text = stream.getvalue()
    assert GH_TOKEN not in text and PASSWORD_VALUE not in text
    assert "token [REDACTED:test-github-pat] in use" in text
    assert "RuntimeError: login failed with password=[REDACTED:test-generic-password]" in text


def test_child_logger_records_are_redacted_at_the_handler() -> None:
    """Records propagated from child loggers are redacted too (the filter sits on handlers)."""
    parent, stream = make_logger("sluice.test.parent")
    install(parent, engine=Engine(RULES, backend="python"))
    child = logging.getLogger("sluice.test.parent.child")
    child.warning("leaking %s", GH_TOKEN)
    assert GH_TOKEN not in stream.getvalue()


def test_install_is_idempotent() -> None:
    """Installing twice does not stack filters."""
    logger, _ = make_logger("sluice.test.twice")
    engine = Engine(RULES, backend="python")
    install(logger, engine=engine)
    install(logger, engine=engine)
    assert sum(isinstance(f, RedactingFilter) for f in logger.handlers[0].filters) == 1
