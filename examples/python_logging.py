"""A Python service redacting its own logs: one line of setup after logging is configured."""

from __future__ import annotations

import logging

from scanners.logfilter import install

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
install()  # every handler of the root logger now redacts messages, args and tracebacks

log = logging.getLogger("billing")
log.info("charging with key %s", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dcX9zQ")  # -> [REDACTED:...]
try:
    raise ConnectionError("postgresql://billing:hunter2-Xk29q@db:5432/billing unreachable")
except ConnectionError:
    log.exception("database down")  # the URL's password is redacted in the traceback too
