"""A logging filter that keeps credentials out of the broker's log, whoever logs them.

Our own code never logs a token; libraries can: aiohttp's server logs the start of an
over-long header line (``Bearer eyJ...``) with the parse error. The filter rewrites any record
whose message or exception text holds a JWT- or OpenBao-token-shaped value: the value becomes
``[redacted]`` and the exception details are dropped (they would repeat it).
"""

from __future__ import annotations

import logging
import re
import traceback

TOKEN_SHAPED = re.compile(
    r"eyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){0,2}"  # JWS/JWT, whole or truncated
    r"|\b(?:hv[sb]|[sb])\.[A-Za-z0-9_-]{20,}"  # OpenBao/Vault service and batch tokens
)
REDACTED = "[redacted]"


class CredentialFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = TOKEN_SHAPED.sub(REDACTED, message)
        details = ""
        if record.exc_info and record.exc_info[0] is not None:
            details = "".join(traceback.format_exception(*record.exc_info))
        if clean == message and not TOKEN_SHAPED.search(details):
            return True
        if details and TOKEN_SHAPED.search(details):
            name = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else "?"
            clean += f" ({name}; details withheld: they held a credential-shaped value)"
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = clean, None
        return True


def install(logger: logging.Logger | None = None) -> CredentialFilter:
    """Attach the filter to every handler of ``logger`` (default: the root logger)."""
    target = logger or logging.getLogger()
    found = CredentialFilter()
    for handler in target.handlers:
        handler.addFilter(found)
    return found
