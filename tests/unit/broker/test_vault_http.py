"""The broker's keep-alive HTTP/1.1 client to OpenBao, against a scripted loopback server.

Each behaviour runs on both event loops the broker can serve on (asyncio and uvloop). The
server is a raw socket server so that the framing cases (chunked answers, a peer closing an idle
connection, an answer cut short) are exactly what is sent, not what a framework would do.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from broker import errors
from broker.vault import OpenBaoBackend, TokenRequest
from broker.vault_http import OriginError, OriginPool
from broker.wire import Secret
from tests.support.tls import write_tls

uvloop = pytest.importorskip("uvloop")

Handler = Callable[[bytes], Awaitable[bytes | None]]  # request head+body -> raw answer or None
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


def run(loop_kind: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    (asyncio.run if loop_kind == "asyncio" else uvloop.run)(main())


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Server:
    """Reads one request at a time (head + Content-Length body) and writes ``answer(request)``;
    ``None`` means answer nothing and keep the connection; ``close_after`` closes after answering."""

    answer: Handler
    close_after: bool = False
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[bytes] = field(default_factory=list)
    tls: ssl.SSLContext | None = None
    _server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        port = self._server.sockets[0].getsockname()[1]
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + (await reader.readexactly(length) if length else b"")
                self.requests.append(request)
                answer = await self.answer(request)
                if answer is None:
                    await asyncio.sleep(3600)
                    return
                writer.write(answer)
                await writer.drain()
                if self.close_after:
                    return
        finally:
            self.open_now -= 1
            writer.close()


async def ok(_: bytes) -> bytes:
    return OK


def test_a_connection_is_kept_and_reused(loop_kind: str) -> None:
    async def main() -> None:
        server = Server(ok)
        pool = OriginPool(await server.start())
        for _ in range(3):
            answer = await pool.request("POST", "/v1/x", b"X-A: b\r\n", b'{"a":1}', 2)
            assert (answer.status, answer.body) == (200, b'{"ok":true}')
        assert server.connections == 1
        head = server.requests[0]
        assert head.startswith(b"POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:")
        assert b"\r\nContent-Length: 7\r\n" in head and b"\r\nX-A: b\r\n" in head
        assert head.endswith(b'\r\n\r\n{"a":1}')
        await pool.close()
        await server.stop()

    run(loop_kind, main)


def test_connection_close_and_idle_closes_by_the_server_are_survived(loop_kind: str) -> None:
    async def main() -> None:
        async def closing(_: bytes) -> bytes:
            return OK.replace(b"200 OK\r\n", b"200 OK\r\nConnection: close\r\n")

        server = Server(closing)
        pool = OriginPool(await server.start())
        for _ in range(2):
            assert (await pool.request("GET", "/a", b"", None, 2)).status == 200
        assert server.connections == 2  # "Connection: close" honoured: not reused

        quiet = Server(ok, close_after=True)  # closes an idle keep-alive connection, no header
        pool2 = OriginPool(await quiet.start())
        assert (await pool2.request("GET", "/a", b"", None, 2)).status == 200
        await asyncio.sleep(0.05)  # the peer's FIN arrives while the connection is idle
        assert (await pool2.request("GET", "/a", b"", None, 2)).status == 200
        assert quiet.connections == 2
        for p in (pool, pool2):
            await p.close()
        await server.stop()
        await quiet.stop()

    run(loop_kind, main)


def test_a_chunked_answer_is_reassembled(loop_kind: str) -> None:
    async def main() -> None:
        async def chunked(_: bytes) -> bytes:
            return (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b'4\r\n{"a"\r\n5\r\n:"bc"\r\n1\r\n}\r\n0\r\n\r\n'
            )

        server = Server(chunked)
        pool = OriginPool(await server.start())
        assert (await pool.request("GET", "/a", b"", None, 2)).body == b'{"a":"bc"}'
        assert (await pool.request("GET", "/a", b"", None, 2)).body == b'{"a":"bc"}'
        assert server.connections == 1
        await pool.close()
        await server.stop()

    run(loop_kind, main)


def test_refused_connection_says_the_request_was_never_sent(loop_kind: str) -> None:
    async def main() -> None:
        server = Server(ok)
        origin = await server.start()
        await server.stop()
        await asyncio.sleep(0.01)
        with pytest.raises(OriginError) as caught:
            await OriginPool(origin).request("POST", "/v1/x", b"", b"{}", 2)
        assert caught.value.request_sent is False

    run(loop_kind, main)


def test_timeout_and_cut_answers_say_the_request_may_have_been_acted_on(loop_kind: str) -> None:
    async def main() -> None:
        calls = 0

        async def silent_once(_: bytes) -> bytes | None:
            nonlocal calls
            calls += 1
            return None if calls == 1 else OK

        server = Server(silent_once)
        pool = OriginPool(await server.start())
        started = time.monotonic()
        with pytest.raises(OriginError) as caught:
            await pool.request("POST", "/v1/x", b"", b"{}", 0.3)
        assert caught.value.request_sent is True
        assert time.monotonic() - started < 2
        # the silent connection is dropped, never reused for the next call
        assert (await pool.request("POST", "/v1/x", b"", b"{}", 2)).status == 200
        assert server.connections == 2
        await pool.close()
        await server.stop()

        async def cut(_: bytes) -> bytes:
            return OK[:-4]

        short = Server(cut, close_after=True)
        pool = OriginPool(await short.start())
        with pytest.raises(OriginError) as caught:
            await pool.request("POST", "/v1/x", b"", b"{}", 2)
        assert caught.value.request_sent is True
        await pool.close()
        await short.stop()

    run(loop_kind, main)


def test_close_ends_calls_in_flight_and_the_limit_bounds_connections(loop_kind: str) -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def held(_: bytes) -> bytes:
            await gate.wait()
            return OK

        server = Server(held)
        pool = OriginPool(await server.start(), limit=2)
        calls = [asyncio.create_task(pool.request("GET", "/a", b"", None, 5)) for _ in range(5)]
        await asyncio.sleep(0.2)
        assert server.most_open == 2
        gate.set()
        assert [a.status for a in await asyncio.gather(*calls)] == [200] * 5
        assert server.connections == 2

        gate.clear()
        stuck = asyncio.create_task(pool.request("GET", "/a", b"", None, 30))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await pool.close()
        with pytest.raises(OriginError):
            await stuck
        assert time.monotonic() - started < 1
        with pytest.raises(OriginError) as caught:  # a closed pool sends nothing
            await pool.request("GET", "/a", b"", None, 1)
        assert caught.value.request_sent is False
        gate.set()
        await server.stop()

    run(loop_kind, main)


def test_header_injection_is_refused() -> None:
    pool = OriginPool("http://127.0.0.1:9")
    with pytest.raises(ValueError):
        asyncio.run(pool.request("GET", "/v1/a\r\nX-Evil: 1", b"", None, 1))
    with pytest.raises(ValueError):
        OriginPool("ftp://example.test")
    for bad in ("s.abc\r\nX-Evil: 1", "s.abc def", "", "s.\u00e9"):
        with pytest.raises(errors.ConfigError) as caught:
            OpenBaoBackend("http://127.0.0.1:9", Secret(bad))
        assert "abc" not in str(caught.value)  # the message never carries the token


def test_backend_maps_answers_to_its_errors(loop_kind: str) -> None:
    """5xx, a redirect and a non-JSON body are `VaultUnavailable`, 4xx is `VaultRejected` with OpenBao's
    reasons; a refused connection marks the request as never sent."""

    async def main() -> None:
        answers = {
            b"/v1/auth/token/revoke-accessor": b"HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n",
            b"/v1/sys/policies/acl/p": (
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 32\r\n\r\n"
                b'{"errors":["permission denied"]}'
            ),
            b"/v1/auth/token/lookup-accessor": (
                b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnope"
            ),
            b"/v1/auth/token/create": (
                b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://active:8200/v1/auth/token"
                b"/create\r\nContent-Length: 0\r\n\r\n"
            ),
        }

        async def by_path(request: bytes) -> bytes:
            return answers[request.split(b" ")[1]]

        server = Server(by_path)
        backend = OpenBaoBackend(await server.start(), Secret("s.token"), timeout_s=2)
        with pytest.raises(errors.VaultUnavailable):
            await backend.revoke_accessor("acc")
        with pytest.raises(errors.VaultRejected) as rejected:
            await backend.write_policy("p", "path")
        assert (rejected.value.status_seen, rejected.value.reasons) == (403, ("permission denied",))
        with pytest.raises(errors.VaultUnavailable):
            await backend.revoke_accessor("acc")
        with pytest.raises(errors.VaultUnavailable):  # 200 with a body that is not JSON
            await backend.lookup_accessor("acc")
        with pytest.raises(errors.VaultUnavailable):  # a redirect is never followed
            await backend.create_token(
                TokenRequest(policies=("p",), ttl_s=60, metadata={}, display_name="d")
            )
        assert sum(b"/create" in r for r in server.requests) == 1
        assert all(b"\r\nX-Vault-Token: s.token\r\n" in r for r in server.requests)
        await backend.close()
        await server.stop()

        gone = OpenBaoBackend("http://127.0.0.1:9", Secret("s.token"), timeout_s=1)
        with pytest.raises(errors.VaultUnavailable) as unavailable:
            await gone.revoke_accessor("acc")
        assert unavailable.value.request_sent is False
        await gone.close()

    run(loop_kind, main)


def test_https_origin_is_verified_and_kept_alive(loop_kind: str, tmp_path: Path) -> None:
    """An https origin: the certificate is checked against the trusted CA for the address the
    pool was given (a stranger CA is refused before anything is sent), and the TLS connection
    is reused like a plain one."""
    ca_file, cert_file, key_file = write_tls(tmp_path)
    (tmp_path / "other").mkdir()
    stranger_ca, _, _ = write_tls(tmp_path / "other")

    async def main() -> None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert_file, key_file)
        server = Server(ok, tls=tls)
        origin = await server.start()
        pool = OriginPool(origin, ssl_context=ssl.create_default_context(cafile=str(ca_file)))
        for _ in range(2):
            assert (await pool.request("GET", "/v1/sys/health", b"", None, 5)).status == 200
        assert server.connections == 1
        await pool.close()
        wrong = OriginPool(origin, ssl_context=ssl.create_default_context(cafile=str(stranger_ca)))
        with pytest.raises(OriginError) as caught:
            await wrong.request("POST", "/v1/auth/token/create", b"", b"{}", 5)
        assert caught.value.request_sent is False
        assert len(server.requests) == 2
        await wrong.close()
        await server.stop()

    run(loop_kind, main)
