"""The sidecar's heartbeat schedule."""

from __future__ import annotations

import pytest

from sidecar.heartbeat import heartbeat_delay_s, session_gone


@pytest.mark.parametrize(
    ("window", "failures", "delay"),
    [
        (90.0, 0, 30.0),  # a third of the window: two lost beats are survivable
        (3.0, 0, 1.0),
        (1.5, 0, 1.0),  # never faster than once a second
        (None, 0, 60.0),  # broker does not require beats
        (90.0, 1, 1.0),  # after a failure: retry soon
        (90.0, 3, 4.0),
        (90.0, 10, 30.0),  # ... but never later than the regular beat
        (6.0, 4, 2.0),
    ],
)
def test_heartbeat_delay(window: float | None, failures: int, delay: float) -> None:
    """Regular beats every window/3; failed beats retried with backoff capped at the interval."""
    assert heartbeat_delay_s(window, failures) == delay


def test_heartbeat_delay_always_fits_twice_in_the_window() -> None:
    """Whatever the failures, the next beat is due well inside the window (>= 1 s windows)."""
    for window in (2.0, 3.0, 10.0, 90.0, 3600.0):
        for failures in range(30):
            assert heartbeat_delay_s(window, failures) * 2 <= max(window, 2.0)


@pytest.mark.parametrize(("status", "gone"), [(404, True), (409, True), (403, True),
                                              (503, False), (500, False), (429, False)])  # fmt: skip
def test_session_gone(status: int, gone: bool) -> None:
    """Only 'no such session', 'not active' and 'not your session' stop the heartbeats."""
    assert session_gone(status) is gone
