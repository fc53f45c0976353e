"""The broker's own log through the leak guard, with its own credentials masked by value.

`install(vault_token, admin_token)` is called once by `sluice broker serve` as soon as the
credentials are read: every handler of the root logger gets the scanners' redacting filter
(all provider rules) and the broker's OpenBao token and admin credential are registered as
known values, so they are masked in every form (plain, JSON-escaped, URL-encoded, base64)
even when they have no recognisable format. `broker.logsafe` stays in front of it: it drops
exception details that held a credential-shaped value.

The values join the filter's engine beside the cached rule database (`RedactingFilter.learn`).
"""

from __future__ import annotations

import logging

from broker.wire import Secret
from scanners.logfilter import RedactingFilter


def install(
    vault_token: Secret, admin_token: Secret | None = None, logger: logging.Logger | None = None
) -> RedactingFilter:
    from scanners import logfilter  # the rule engine loads here, once config is sound

    redacting = logfilter.install(logger)
    values = [("the broker's OpenBao token", vault_token.reveal())]
    if admin_token is not None:
        values.append(("the admin credential", admin_token.reveal()))
    redacting.learn(values)
    return redacting
