"""``sluice sidecar``'s main loop: `lifecycle.run` with the session's values registered in the
sidecar's own log filter as soon as the session exists, so its log masks the token, accessor
and identity token even where they have no recognisable format.
"""

from __future__ import annotations

from broker.wire import SessionCreated
from scanners import logfilter as logs
from sidecar import lifecycle
from sidecar.run import session_values
from sidecar.settings import SidecarSettings


async def serve(settings: SidecarSettings) -> int:
    """Serve until SIGTERM/SIGINT, then end the session. Exit 0 when all went well."""
    identity = lifecycle.read_identity_token(settings)

    def learn(session: SessionCreated) -> None:
        logs.learn(session_values(session, identity))

    return await lifecycle.run(settings, on_session=learn)
