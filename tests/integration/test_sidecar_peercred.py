"""The socket's peer check: a process of another uid is refused unless allowed."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from broker.wire import Secret, SessionCreated
from sidecar import server

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another uid")
OTHER_UID = 65534  # nobody

# Runs as another uid; prints the HTTP status (or the error code) it got from the socket.
CLIENT = """
import os, sys
sys.path.insert(0, {repo!r})
from demo.workload import token_from_socket  # imported first: nobody may not read the venv
os.setgid({uid}); os.setuid({uid})
try:
    token_from_socket({sock!r})
    print(200)
except RuntimeError as exc:
    print(str(exc).split()[2].rstrip(":"))
"""


@pytest.fixture
async def served(short_tmp: Path) -> AsyncIterator[tuple[Path, list[web.AppRunner]]]:
    runners: list[web.AppRunner] = []
    yield short_tmp, runners
    for runner in runners:
        await runner.cleanup()


async def status_as_other_uid(sock: Path) -> str:
    import asyncio

    repo = str(Path(__file__).resolve().parents[2])
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLIENT.format(repo=repo, uid=OTHER_UID, sock=str(sock)),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    return out.decode().strip()


@pytest.mark.parametrize(
    ("allowed", "expected"), [(frozenset(), "403"), (frozenset({OTHER_UID}), "200")]
)
async def test_other_uid_needs_to_be_allowed(
    allowed: frozenset[int], expected: str, served: tuple[Path, list[web.AppRunner]]
) -> None:
    """Even with file modes opened up, only our uid and --allow-uid peers get the token."""
    directory, runners = served
    directory.chmod(0o755)  # open on purpose: this test is about the peer check alone
    sock = directory / "s.sock"
    session = SessionCreated(
        "ses_peer", Secret("s.peercheckpeercheckpeerch"), "acc", time.time() + 300
    )
    runners.append(await server.serve(server.make_app(session, allowed), sock))
    sock.chmod(0o666)
    assert await status_as_other_uid(sock) == expected
