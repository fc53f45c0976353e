"""When the sidecar beats, and what its beats say about the session: pure, ``now`` passed in.

A session lapses when no heartbeat arrives within ``heartbeat_window_s``; beating every third
of the window survives two lost beats. After a failed beat the next one comes sooner (1, 2,
4 s ... never later than the regular interval), so a broker restart costs no session. A
broker that says the session is gone (404/409/403: revoked by an admin or the leak guard,
or lapsed and reaped) is final: beating again cannot revive it.

How late the sidecar learns of a revocation: at its next beat, so at most window/3 (plus one
broker round trip, at most ``timeout_s``) after it; without a window, within
``NO_WINDOW_INTERVAL_S``. While the broker cannot be reached no beat confirms the session:
once the last confirmed beat is a whole window old, the token is no longer handed out
(``session_unconfirmed``) — by then the broker may have reaped the session.

`Standing` is what the sidecar knows of its session; its rules:
- ``gone`` is absorbing: no later beat, confirmed or not, makes the token servable again;
- a confirmation only moves ``confirmed_at`` forward (it is when the beat was *sent*, the
  conservative end of the round trip);
- `token_verdict` checks gone, then expiry, then staleness: the most final answer wins.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

MIN_INTERVAL_S = 1.0
RETRY_BASE_S = 1.0
NO_WINDOW_INTERVAL_S = 60.0  # the broker does not require heartbeats: a slow keep-alive
FINAL_STATUSES = frozenset({403, 404, 409})


def heartbeat_delay_s(window_s: float | None, failures: int) -> float:
    """Seconds until the next beat, given the window and consecutive failed beats."""
    if failures < 0:
        raise ValueError("failures must be >= 0")
    regular = NO_WINDOW_INTERVAL_S if window_s is None else max(MIN_INTERVAL_S, window_s / 3)
    if failures == 0:
        return regular
    return min(regular, RETRY_BASE_S * float(2 ** min(failures - 1, 20)))


def session_gone(status: int) -> bool:
    """The broker's answer means the session no longer exists or is no longer active."""
    return status in FINAL_STATUSES


class Verdict(enum.Enum):
    """What GET /v1/token answers; each value but SERVE is the stable error code."""

    SERVE = "serve"
    REVOKED = "session_revoked"
    EXPIRED = "session_expired"
    UNCONFIRMED = "session_unconfirmed"


@dataclass(frozen=True)
class Standing:
    """The session as the sidecar last heard of it from the broker."""

    expires_at: float
    confirmed_at: float  # when the open or the last successful heartbeat was sent
    window_s: float | None = None  # the broker's heartbeat window; None: unknown or not required
    gone_code: str | None = None  # the broker's error code once it said the session is gone

    @property
    def gone(self) -> bool:
        return self.gone_code is not None

    def confirmed(self, sent_at: float, window_s: float | None) -> Standing:
        """A heartbeat sent at ``sent_at`` succeeded; the broker's window is ``window_s``."""
        if self.gone:
            return self
        return replace(self, confirmed_at=max(self.confirmed_at, sent_at), window_s=window_s)

    def ended(self, code: str) -> Standing:
        """The broker said the session is gone, with error ``code``; the first cause is kept."""
        return self if self.gone else replace(self, gone_code=code)


def token_verdict(standing: Standing, now: float) -> Verdict:
    """Whether the token may be handed to the app at ``now``, or why not."""
    if standing.gone:
        return Verdict.REVOKED
    if now >= standing.expires_at:
        return Verdict.EXPIRED
    if standing.window_s is not None and now - standing.confirmed_at > standing.window_s:
        return Verdict.UNCONFIRMED
    return Verdict.SERVE
