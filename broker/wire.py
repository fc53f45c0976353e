"""Request/response shapes of the broker's HTTP API, shared with the sidecar.

Only the standard library and `scanners.findings` here: the sidecar imports this module and
nothing else of the broker. `Secret` is the scanners' `SecretValue`: one redacted-repr type for
every credential the project holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanners.findings import SecretValue

Secret = SecretValue  # the broker's and sidecar's name for it

SESSIONS_PATH = "/v1/sessions"
HEALTH_PATH = "/healthz"


class WireError(ValueError):
    """A payload does not have the expected shape (the message names the field, never values)."""


def _field(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise WireError(f"field {name!r} missing or not {kind.__name__}")
    return value


@dataclass(frozen=True)
class SessionCreated:
    """201 answer to ``POST /v1/sessions``."""

    session_id: str
    token: Secret
    accessor: str
    expires_at: float  # unix seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "token": self.token.reveal(),
            "accessor": self.accessor,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_json(cls, body: Any) -> SessionCreated:
        if not isinstance(body, dict):
            raise WireError("session body is not an object")
        expires = body.get("expires_at")
        if not isinstance(expires, (int, float)) or isinstance(expires, bool):
            raise WireError("field 'expires_at' missing or not a number")
        return cls(
            session_id=_field(body, "session_id", str),
            token=Secret(_field(body, "token", str)),
            accessor=_field(body, "accessor", str),
            expires_at=float(expires),
        )


@dataclass(frozen=True)
class ErrorBody:
    """Every non-2xx answer: ``{"error": {"code", "message"}}``."""

    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}

    @classmethod
    def from_json(cls, body: Any) -> ErrorBody:
        err = body.get("error") if isinstance(body, dict) else None
        if not isinstance(err, dict):
            raise WireError("error body has no 'error' object")
        return cls(code=_field(err, "code", str), message=_field(err, "message", str))
