"""What the sidecar knows of its session (`Standing`) and what the socket answers for it."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import pytest

from broker.wire import Secret, SessionCreated
from sidecar import run as run_mod
from sidecar.heartbeat import Standing, Verdict, token_verdict
from sidecar.lifecycle import SESSION_REVOKED_EXIT, SessionWatch
from sidecar.server import make_app, serve

NOW = 1_000_000.0
TOKEN = "s.revokedrevokedrevokedrev"


def standing(**overrides: object) -> Standing:
    fields: dict[str, object] = {"expires_at": NOW + 300, "confirmed_at": NOW, "window_s": 6.0}
    fields.update(overrides)
    return Standing(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "now", "verdict"),
    [
        (standing(), NOW + 1, Verdict.SERVE),
        (standing(), NOW + 6, Verdict.SERVE),  # exactly one window old: still confirmed
        (standing(), NOW + 6.01, Verdict.UNCONFIRMED),  # no beat confirmed it for a window
        (standing(window_s=None), NOW + 250, Verdict.SERVE),  # no window: nothing to confirm
        (standing(), NOW + 300, Verdict.EXPIRED),
        (standing(window_s=None), NOW + 301, Verdict.EXPIRED),
        (standing(gone_code="session_not_active"), NOW + 1, Verdict.REVOKED),
        (standing(gone_code="session_not_found"), NOW + 400, Verdict.REVOKED),  # gone beats expired
        (standing(gone_code="forbidden"), NOW + 20, Verdict.REVOKED),  # ... and unconfirmed
    ],
)
def test_token_verdict(state: Standing, now: float, verdict: Verdict) -> None:
    """Gone, then expired, then unconfirmed for a window: the most final answer wins."""
    assert token_verdict(state, now) is verdict


def test_a_beat_moves_confirmation_forward_only() -> None:
    """A successful beat confirms the session from when it was sent, never backwards."""
    state = standing(window_s=None).confirmed(NOW + 4, 6.0)
    assert (state.confirmed_at, state.window_s) == (NOW + 4, 6.0)
    assert state.confirmed(NOW + 2, 6.0).confirmed_at == NOW + 4
    assert token_verdict(standing().confirmed(NOW + 5, 6.0), NOW + 10) is Verdict.SERVE


def test_gone_is_final() -> None:
    """Once the broker said the session is gone, no later beat or cause changes that."""
    gone = standing().ended("session_not_active")
    assert gone.gone and gone.gone_code == "session_not_active"
    assert gone.confirmed(NOW + 10, 6.0) == gone
    assert gone.ended("session_not_found").gone_code == "session_not_active"
    assert token_verdict(gone.confirmed(NOW + 10, 6.0), NOW + 11) is Verdict.REVOKED


def test_revoked_exit_code_is_distinct() -> None:
    """Revocation exits differ from success, failure, usage errors and withheld output."""
    assert SESSION_REVOKED_EXIT not in {0, 1, 2, run_mod.WITHHELD_EXIT}


async def _get(sock: Path) -> tuple[int, dict[str, object], str | None]:
    connector = aiohttp.UnixConnector(path=str(sock))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get("http://sidecar/v1/token") as resp,
    ):
        return resp.status, await resp.json(), resp.headers.get("Retry-After")


async def test_socket_follows_the_watch_from_token_to_410() -> None:
    """The socket serves the token while confirmed, 503 while unconfirmed, 410 once gone."""
    session = SessionCreated("ses_rv", Secret(TOKEN), "acc", time.time() + 300)
    watch = SessionWatch(session, time.time() - 10)  # opened ten seconds ago
    sock = Path(tempfile.mkdtemp(prefix="sl-", dir="/tmp")) / "s.sock"
    runner = await serve(make_app(session, frozenset(), lambda: watch.standing), sock)
    try:
        served = await _get(sock)  # no window known yet: nothing to confirm against
        watch.confirm(time.time() - 10, 5.0)  # the last confirmed beat is two windows old
        unconfirmed = await _get(sock)
        watch.confirm(time.time(), 5.0)  # the broker answers again
        again = await _get(sock)
        watch.end("session_not_active")
        watch.confirm(time.time(), 5.0)  # a late success cannot revive it
        revoked = await _get(sock)
    finally:
        await runner.cleanup()
        sock.unlink(missing_ok=True)
        sock.parent.rmdir()
    assert served[0] == 200 and served[1]["token"] == TOKEN
    assert unconfirmed[0] == 503 and unconfirmed[2] == "1"
    assert unconfirmed[1]["error"]["code"] == "session_unconfirmed"  # type: ignore[index]
    assert again[0] == 200 and again[1]["token"] == TOKEN
    assert revoked[0] == 410 and TOKEN not in str(revoked[1])
    error = revoked[1]["error"]
    assert error["code"] == "session_revoked"  # type: ignore[index]
    assert "ended at the broker (session_not_active)" in error["message"]  # type: ignore[index]
    assert "sidecar will exit" in error["message"]  # type: ignore[index]
    assert watch.ended.is_set() and watch.cause == "session_not_active"


STUBBORN = """
import pathlib, signal, sys, time
marker = pathlib.Path(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: marker.write_text("term"))
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("stubborn", [False, True])
async def test_command_is_stopped_when_the_session_ends(
    stubborn: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM first; a command that ignores it is killed after the grace; exit code 4."""
    monkeypatch.setattr(run_mod, "STOP_GRACE_S", 0.5)
    marker = tmp_path / "marker"
    argv = ["-c", STUBBORN, str(marker)] if stubborn else ["-c", "import time; time.sleep(60)"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdout=asyncio.subprocess.PIPE
    )
    if stubborn:
        assert proc.stdout is not None
        await proc.stdout.readline()  # its SIGTERM handler is in place
    session = SessionCreated("ses_cmd", Secret(TOKEN), "acc", time.time() + 300)
    watch = SessionWatch(session, time.time())
    asyncio.get_running_loop().call_later(0.2, watch.end, "session_not_active")
    started = time.monotonic()
    code = await run_mod._wait_or_stop(proc, watch, "ses_cmd", "python")
    took = time.monotonic() - started
    assert code == SESSION_REVOKED_EXIT
    assert proc.returncode == (-9 if stubborn else -15)
    assert (marker.read_text() == "term") if stubborn else not marker.exists()
    assert took < (2.0 if stubborn else 1.0), took


async def test_a_command_that_ends_first_keeps_its_exit_code() -> None:
    """No revocation: the command's own exit code comes back, untouched."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "raise SystemExit(7)")
    session = SessionCreated("ses_ok", Secret(TOKEN), "acc", time.time() + 300)
    assert await run_mod._wait_or_stop(proc, SessionWatch(session, time.time()), "s", "p") == 7
