"""Talks to the broker's session API. Tokens travel only in headers and bodies, never in logs."""

from __future__ import annotations

from typing import Any

import aiohttp

from broker.wire import SESSIONS_PATH, ErrorBody, SessionCreated, WireError
from sidecar.errors import BrokerRefused, BrokerUnavailable


class BrokerClient:
    def __init__(self, http: aiohttp.ClientSession, base_url: str, timeout_s: float = 5.0) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def open_session(self, identity_token: str) -> SessionCreated:
        status, body = await self._call("POST", SESSIONS_PATH, identity_token)
        if status != 201:
            raise _refused(status, body)
        try:
            return SessionCreated.from_json(body)
        except WireError as exc:
            raise BrokerUnavailable(f"broker answered an unexpected body: {exc}") from exc

    async def end_session(self, session: SessionCreated) -> None:
        status, body = await self._call(
            "DELETE", f"{SESSIONS_PATH}/{session.session_id}", session.token.reveal()
        )
        if status == 202:  # the broker keeps retrying the revocation; it is not ours anymore
            return
        if status != 204:
            raise _refused(status, body)

    async def heartbeat(self, session: SessionCreated) -> float | None:
        """Keep the session alive; returns the broker's heartbeat window (None: not required)."""
        status, body = await self._call(
            "POST", f"{SESSIONS_PATH}/{session.session_id}/heartbeat", session.token.reveal()
        )
        if status != 200 or not isinstance(body, dict):
            raise _refused(status, body)
        window = body.get("heartbeat_window_s")
        return float(window) if isinstance(window, (int, float)) else None

    async def _call(self, method: str, path: str, bearer: str) -> tuple[int, Any]:
        try:
            async with self._http.request(
                method,
                self._base + path,
                headers={"Authorization": f"Bearer {bearer}"},
                timeout=self._timeout,
            ) as resp:
                body = await resp.json(content_type=None) if resp.status != 204 else None
                return resp.status, body
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise BrokerUnavailable(f"broker unreachable: {type(exc).__name__}") from exc


def _refused(status: int, body: Any) -> BrokerRefused | BrokerUnavailable:
    try:
        err = ErrorBody.from_json(body)
    except WireError:
        return BrokerUnavailable(f"broker answered HTTP {status} without an error body")
    if status >= 500:
        return BrokerUnavailable(f"broker unavailable: {err.code}", err.code)
    return BrokerRefused(f"broker refused: {err.code}: {err.message}", err.code, status)
