"""The log filter: token-shaped text never reaches a handler, whoever logged it."""

from __future__ import annotations

import io
import logging

from aiohttp.http_exceptions import LineTooLong

from broker.logsafe import CredentialFilter

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLWJ5dGVz"
BAO = "s.AbCdEfGhIjKlMnOpQrStUvWx"


def logged(message: str, *args: object, exc: BaseException | None = None) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CredentialFilter())
    logger = logging.getLogger(f"test.logsafe.{id(stream)}")
    logger.addHandler(handler)
    logger.propagate = False
    if exc is not None:
        try:
            raise exc
        except type(exc):
            logger.exception(message, *args)
    else:
        logger.warning(message, *args)
    return stream.getvalue()


def test_messages_and_args_are_redacted() -> None:
    """A JWT or OpenBao token in the message or its args becomes [redacted]."""
    out = logged("header was %s and token %s", "Bearer " + JWT, BAO)
    assert JWT[:20] not in out and BAO not in out and out.count("[redacted]") == 2


def test_exception_details_holding_a_token_are_withheld() -> None:
    """aiohttp's LineTooLong quotes the header line: the traceback is dropped, the fact kept."""
    out = logged("Error handling request", exc=LineTooLong(("Bearer " + JWT)[:100], "8190"))
    assert "eyJhbGci" not in out
    assert "LineTooLong; details withheld" in out


def test_ordinary_records_pass_unchanged() -> None:
    """Nothing token-shaped: the record is untouched (tracebacks included)."""
    assert "subject=system:serviceaccount:demo:app" in logged(
        "subject=%s", "system:serviceaccount:demo:app"
    )
    out = logged("boom", exc=ValueError("plain"))
    assert "Traceback" in out and "ValueError: plain" in out
