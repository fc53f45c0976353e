"""OpenBao edge: a narrow ``VaultBackend`` over keep-alive HTTP (``broker.vault_http``).

Invariants: the broker's own token is read once from a file and held as a ``Secret``; no token
ever appears in a log line or error message; connection errors, timeouts and 5xx answers become
VaultUnavailable, other refusals VaultRejected. Session tokens are ordinary (non-orphan)
service tokens, children of the broker's token, so revoking a session token also revokes
anything obtained through it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from broker import errors
from broker.vault_http import OriginError, OriginPool
from broker.wire import Secret

log = logging.getLogger(__name__)
_HEADER_SAFE = frozenset(map(chr, range(0x21, 0x7F)))  # visible ASCII: no space, CR, LF


@dataclass(frozen=True)
class TokenRequest:
    """What a session token is created with (one value, so every backend layer agrees)."""

    policies: tuple[str, ...]
    ttl_s: int
    metadata: dict[str, str]
    display_name: str
    no_default_policy: bool = True
    max_ttl_s: int | None = None  # explicit_max_ttl; defaults to ttl_s
    renewable: bool = False
    num_uses: int = 0  # 0: unlimited


@dataclass(frozen=True)
class IssuedToken:
    token: Secret
    accessor: str
    ttl_s: int
    policies: tuple[str, ...]


class VaultBackend(Protocol):
    async def create_token(self, request: TokenRequest) -> IssuedToken: ...

    async def revoke_accessor(self, accessor: str) -> None: ...

    async def lookup_accessor(self, accessor: str) -> dict[str, Any] | None: ...

    async def list_accessors(self) -> list[str]: ...

    async def write_policy(self, name: str, hcl: str) -> None: ...

    async def delete_policy(self, name: str) -> None: ...

    async def health(self) -> bool: ...


def read_token_file(path: Path) -> Secret:
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise errors.ConfigError([("vault.token_file", f"cannot read: {exc.strerror}")]) from exc
    if not value:
        raise errors.ConfigError([("vault.token_file", "file is empty")])
    return Secret(value)


class OpenBaoBackend:
    def __init__(
        self,
        addr: str,
        token: Secret,
        token_role: str | None = None,
        timeout_s: float = 5.0,
        pool: OriginPool | None = None,
    ) -> None:
        self._addr = addr.rstrip("/")
        # At most 100 requests in flight: OpenBao saturates well below that.
        self._pool = pool or OriginPool(self._addr, limit=100, idle_s=30)
        self._timeout_s = timeout_s
        value = token.reveal()
        if not value or not _HEADER_SAFE.issuperset(value):
            raise errors.ConfigError(
                [("vault.token_file", "the token holds characters not allowed in an HTTP header")]
            )
        # Built once: every call sends the same authentication headers.
        auth = b"X-Vault-Token: %s\r\nX-Vault-Request: true\r\n" % value.encode("ascii")
        self._headers_no_body = auth
        self._headers_json = auth + b"Content-Type: application/json\r\n"
        self._create_path = "auth/token/create" + (f"/{token_role}" if token_role else "")

    async def close(self) -> None:
        await self._pool.close()

    async def create_token(self, request: TokenRequest) -> IssuedToken:
        ttl_s = request.ttl_s
        body = {
            "policies": list(request.policies),
            "ttl": f"{ttl_s}s",
            # Caps the token at the rule's max_ttl (default: its ttl) even if renewed.
            "explicit_max_ttl": f"{request.max_ttl_s or ttl_s}s",
            "no_default_policy": request.no_default_policy,
            "renewable": request.renewable,  # the token role must allow it too
            "num_uses": request.num_uses,  # 0: unlimited
            "meta": request.metadata,
            "display_name": request.display_name,
        }
        answer = await self._call("POST", self._create_path, body)
        auth = answer.get("auth") if isinstance(answer, dict) else None
        if not isinstance(auth, dict) or not isinstance(auth.get("client_token"), str):
            raise errors.VaultRejected("OpenBao answered token create without a token")
        return IssuedToken(
            token=Secret(auth["client_token"]),
            accessor=str(auth.get("accessor", "")),
            ttl_s=int(auth.get("lease_duration", ttl_s)),
            policies=tuple(auth.get("policies") or ()),
        )

    async def revoke_accessor(self, accessor: str) -> None:
        """Revoke a token, its children and its leases; idempotent.

        OpenBao answers 204 for an accessor already revoked; one whose token expired and was
        tidied answers 400 "invalid accessor": both mean the token is gone, the goal holds.
        """
        try:
            await self._call("POST", "auth/token/revoke-accessor", {"accessor": accessor})
        except errors.VaultRejected as exc:
            if exc.status_seen == 400 and _mentions(exc.reasons, "invalid accessor"):
                return
            raise

    async def list_accessors(self) -> list[str]:
        """Every token accessor OpenBao holds (needs ``list`` + ``sudo``)."""
        answer = await self._call("LIST", "auth/token/accessors", None)
        data = answer.get("data") if isinstance(answer, dict) else None
        keys = data.get("keys") if isinstance(data, dict) else None
        return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []

    async def write_policy(self, name: str, hcl: str) -> None:
        await self._call("PUT", f"sys/policies/acl/{name}", {"policy": hcl})

    async def delete_policy(self, name: str) -> None:
        # Deleting a policy that does not exist answers 204: idempotent by nature.
        await self._call("DELETE", f"sys/policies/acl/{name}", None)

    async def lookup_accessor(self, accessor: str) -> dict[str, Any] | None:
        try:
            answer = await self._call("POST", "auth/token/lookup-accessor", {"accessor": accessor})
        except errors.VaultRejected:
            return None
        data = answer.get("data") if isinstance(answer, dict) else None
        return data if isinstance(data, dict) else None

    async def health(self) -> bool:
        try:
            answer = await self._pool.request(
                "GET", "/v1/sys/health", self._headers_no_body, None, self._timeout_s
            )
        except OriginError:
            return False
        return answer.status == 200

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        headers = self._headers_json if data is not None else self._headers_no_body
        try:
            answer = await self._pool.request(method, f"/v1/{path}", headers, data, self._timeout_s)
            payload = json.loads(answer.body) if answer.body.strip() else None
        except (OriginError, ValueError) as exc:
            log.warning("OpenBao %s %s failed: %s", method, path, type(exc).__name__)
            unavailable = errors.VaultUnavailable()
            unavailable.request_sent = not isinstance(exc, OriginError) or exc.request_sent
            raise unavailable from exc
        status = answer.status
        if 300 <= status < 400:
            # A standby that does not forward, or a proxy: the broker follows no redirects (a
            # token create must reach one server once); vault.addr must name the active node
            # or a service that forwards to it.
            log.warning("OpenBao %s %s answered %d (redirect): not followed", method, path, status)
            raise errors.VaultUnavailable()
        if status >= 500:
            log.warning("OpenBao %s %s answered %d", method, path, status)
            raise errors.VaultUnavailable()
        if status >= 400:
            # OpenBao's own messages name policies and paths, never tokens; log them for operators.
            reasons = payload.get("errors") if isinstance(payload, dict) else None
            log.warning("OpenBao %s %s answered %d: %s", method, path, status, reasons)
            rejected = errors.VaultRejected()
            rejected.status_seen = status
            rejected.reasons = tuple(str(r) for r in reasons) if isinstance(reasons, list) else ()
            raise rejected
        return payload


def _mentions(reasons: tuple[str, ...], needle: str) -> bool:
    return any(needle in reason.lower() for reason in reasons)
