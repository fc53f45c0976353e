"""A ``VaultBackend`` that times every OpenBao call into ``sluice_vault_request_duration_seconds``.

Pure delegation: same arguments, same results, same exceptions (a failed call is timed too).
Installed by ``guard.install`` around whatever backend the app was built with.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from broker.metrics import BrokerMetrics
from broker.vault import IssuedToken, TokenRequest, VaultBackend

T = TypeVar("T")


class MeteredBackend:
    def __init__(self, inner: VaultBackend, metrics: BrokerMetrics) -> None:
        self.inner = inner
        self._metrics = metrics

    async def _timed(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            return await call()
        finally:
            self._metrics.vault_request(operation, time.perf_counter() - started)

    async def create_token(self, request: TokenRequest) -> IssuedToken:
        return await self._timed("create_token", lambda: self.inner.create_token(request))

    async def revoke_accessor(self, accessor: str) -> None:
        await self._timed("revoke_accessor", lambda: self.inner.revoke_accessor(accessor))

    async def lookup_accessor(self, accessor: str) -> dict[str, Any] | None:
        return await self._timed("lookup_accessor", lambda: self.inner.lookup_accessor(accessor))

    async def list_accessors(self) -> list[str]:
        return await self._timed("list_accessors", self.inner.list_accessors)

    async def write_policy(self, name: str, hcl: str) -> None:
        await self._timed("write_policy", lambda: self.inner.write_policy(name, hcl))

    async def delete_policy(self, name: str) -> None:
        await self._timed("delete_policy", lambda: self.inner.delete_policy(name))

    async def health(self) -> bool:
        return await self._timed("health", self.inner.health)

    def __getattr__(self, name: str) -> Any:
        # Anything else the backend offers (added later) passes through untimed.
        return getattr(self.inner, name)
