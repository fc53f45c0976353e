"""When the sidecar sends its next heartbeat: a pure function of the broker's window.

A session lapses when no heartbeat arrives within ``heartbeat_window_s``; beating every third
of the window survives two lost beats. After a failed beat the next one comes sooner (1, 2,
4 s ... never later than the regular interval), so a broker restart costs no session. A
broker that says the session is gone (404/409/403) is final: beating again cannot revive it.
"""

from __future__ import annotations

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
