"""Keep-alive HTTP/1.1 to one OpenBao origin: the broker's hot path to OpenBao.

Why not aiohttp's client here: every session is one OpenBao call, and on the benchmark machine
aiohttp's client path (request and response objects, cookie jar, tracing hooks, per-request
timers, connector bookkeeping) cost ~0.44 ms of CPU per call against ~0.19 ms for this module
doing the same call — a sixth of the broker's CPU per session. The broker talks to exactly one
origin, with small JSON bodies and no redirects, cookies, proxies or compression, so what is
left is small: a pool of connections, one request in flight per connection, the request written
in one ``write``. Responses are parsed by httptools (llhttp, the parser Node.js uses), not by
hand. aiohttp stays for everything else (the server, issuer discovery and JWKS).

Failure semantics the lifecycle relies on: ``OriginError.request_sent`` is False only when no
byte of the request can have reached OpenBao (no connection was made), so a create that fails
that way made no token.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

_MAX_BODY = 64 * 1024 * 1024  # a LIST of every accessor OpenBao holds is the largest answer
_FORBIDDEN_IN_TARGET = frozenset("\r\n \t")


class OriginError(Exception):
    """No usable answer: connection refused or lost, timeout, or an unparsable response."""

    def __init__(self, reason: str, *, request_sent: bool) -> None:
        super().__init__(reason)
        self.request_sent = request_sent


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; at most one request in flight."""

    def __init__(self, live: set[_Connection]) -> None:
        self._live = live  # the pool's set of open connections, so close() reaches busy ones
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = time.monotonic()
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Answer] | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._keep_alive = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self._live.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(f"unparsable response ({type(exc).__name__})")

    def eof_received(self) -> bool | None:
        self._fail("connection closed by OpenBao")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail("connection lost")

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > _MAX_BODY:
            self._fail("response body too large")
            return
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        answer = Answer(self._parser.get_status_code(), b"".join(self._chunks))
        self._keep_alive = self._parser.should_keep_alive()
        self._chunks, self._size = [], 0
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)
        elif waiter is None:  # an answer nobody asked for: the stream is out of step
            self._fail("unsolicited response")

    # used by the pool
    def send(self, request: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None and self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._waiter

    def expire(self) -> None:
        """The call's deadline passed with no complete answer."""
        self._fail("timed out")

    @property
    def reusable(self) -> bool:
        return not self.closed and self._keep_alive and self._waiter is None

    def close(self) -> None:
        self.closed = True
        self._live.discard(self)
        if self.transport is not None:
            self.transport.close()

    def _fail(self, reason: str) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(OriginError(reason, request_sent=True))
        self.close()


class OriginPool:
    """Keep-alive connections to one ``http``/``https`` origin, at most ``limit`` at once."""

    def __init__(
        self,
        origin: str,
        *,
        limit: int = 100,
        idle_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {origin!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._prefix = parts.path.rstrip("/")
        self._ssl = (
            (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        )
        default_port = self._port == (443 if parts.scheme == "https" else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = (host if default_port else f"{host}:{self._port}").encode("ascii")
        self._idle: list[_Connection] = []
        self._live: set[_Connection] = set()
        self._slots = asyncio.Semaphore(limit)
        self._idle_s = idle_s
        self._closed = False

    async def request(
        self,
        method: str,
        target: str,
        headers: bytes,
        body: bytes | None,
        timeout_s: float,
    ) -> Answer:
        """Send ``method target`` (``target`` starts with ``/``) with ``headers`` — complete
        ``Name: value\\r\\n`` lines, checked by the caller — and ``body``; return the answer."""
        if self._closed:
            raise OriginError("client closed", request_sent=False)
        if not target.startswith("/") or _FORBIDDEN_IN_TARGET.intersection(target):
            raise ValueError("request target must be a path without whitespace")
        payload = body or b""
        head = b"%s %s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n%s\r\n" % (
            method.encode("ascii"),
            self._prefix.encode("ascii"),
            target.encode("ascii"),
            self._host_header,
            len(payload),
            headers,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with self._slots:
            conn = await self._acquire(deadline)
            # One timer on the answer, not asyncio.timeout around the call: that context
            # manager (object, timer, reschedule, task uncancel) was ~6% of the broker's CPU
            # per session. On expiry the connection fails the waiting call and is closed
            # (its answer may still come: it is never reused).
            timer = loop.call_at(deadline, conn.expire)
            try:
                answer = await conn.send(head + payload)
            except OriginError:
                raise
            except BaseException:
                conn.close()
                raise
            finally:
                timer.cancel()
            if conn.reusable and not self._closed:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            else:
                conn.close()
            return answer

    async def _acquire(self, deadline: float) -> _Connection:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()  # most recently used first: warm, least likely timed out
            if conn.reusable and now - conn.idle_since < self._idle_s:
                return conn
            conn.close()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self._live),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl else None,
                )
        except TimeoutError as exc:
            raise OriginError("timed out connecting", request_sent=False) from exc
        except (OSError, ssl.SSLError) as exc:
            raise OriginError(f"cannot connect ({type(exc).__name__})", request_sent=False) from exc
        return conn

    async def close(self) -> None:
        """Close every connection, idle or busy (a busy call then fails as unavailable)."""
        self._closed = True
        self._idle = []
        for conn in list(self._live):
            conn.close()
        await asyncio.sleep(0)  # let transports run their close callbacks
