"""Broker errors: one tree, each class with a stable ``code`` and an HTTP ``status``.

    BrokerError                      500 internal_error
    ├── BadRequest                   400 bad_request
    ├── AuthError                    401 unauthorized (abstract: the identity token is refused)
    │   ├── MissingToken             401 missing_token
    │   ├── InvalidToken             401 invalid_token       (not a JWT, unparsable, bad header)
    │   ├── InvalidSignature         401 invalid_signature
    │   ├── UnknownKey               401 unknown_key         (kid not in the issuer's JWKS)
    │   ├── DisallowedAlgorithm      401 disallowed_algorithm
    │   ├── ExpiredToken             401 expired_token
    │   ├── TokenNotYetValid         401 token_not_yet_valid
    │   ├── AudienceMismatch         401 audience_mismatch
    │   ├── UnknownIssuer            401 unknown_issuer
    │   ├── InvalidClaims            401 invalid_claims      (required claim missing or mistyped)
    │   ├── TokenTooLarge            401 token_too_large     (refused before any parsing)
    │   ├── UnsupportedCriticalHeader 401 unsupported_critical_header (JWS crit extension)
    │   ├── IssuedInFuture           401 issued_in_future    (iat beyond the clock skew)
    │   ├── TokenTooOld              401 token_too_old       (iat older than max_token_age)
    │   └── ReplayedToken            401 replayed_token      (its jti already opened a session)
    ├── Forbidden                    403 forbidden           (wrong session bearer)
    │   └── NoMatchingRule           403 no_matching_rule
    │   (broker.acl: UnsafeClaimValue 403 unsafe_claim_value, MissingClaim 403 missing_claim)
    ├── TooManyRequests              429 too_many_requests   (abstract; sets Retry-After)
    │   ├── RateLimited              429 rate_limited        (per-subject/per-issuer bucket)
    │   └── TooManySessions          429 too_many_sessions   (rule's max_sessions_per_subject)
    ├── SessionNotFound              404 session_not_found
    ├── UpstreamError                503 (abstract)
    │   ├── VaultUnavailable         503 vault_unavailable
    │   └── IssuerUnavailable        503 issuer_unavailable
    ├── VaultRejected                502 vault_rejected      (OpenBao answered, but said no)
    ├── SessionNotActive             409 session_not_active  (heartbeat on an ending/ended one)
    ├── AdminUnauthorized            401 admin_unauthorized  (missing or wrong admin credential)
    └── StoreUnavailable             503 store_unavailable   (the session database, an UpstreamError)

``ConfigError`` is separate: it is raised before the app exists and carries every problem found.
Messages are fixed, human-readable sentences; they never contain a token, a JWT or a secret.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class BrokerError(Exception):
    code = "internal_error"
    status = 500
    default_message = "internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class BadRequest(BrokerError):
    code, status, default_message = "bad_request", 400, "malformed request"


class AuthError(BrokerError):
    code, status, default_message = "unauthorized", 401, "identity token rejected"


class MissingToken(AuthError):
    code, default_message = "missing_token", "Authorization: Bearer <token> is required"


class InvalidToken(AuthError):
    code, default_message = "invalid_token", "identity token is not a well-formed JWT"


class InvalidSignature(AuthError):
    code, default_message = "invalid_signature", "identity token signature does not verify"


class UnknownKey(AuthError):
    code, default_message = "unknown_key", "identity token key id is not in the issuer's key set"


class DisallowedAlgorithm(AuthError):
    code, default_message = "disallowed_algorithm", "identity token algorithm is not allowed"


class ExpiredToken(AuthError):
    code, default_message = "expired_token", "identity token has expired"


class TokenNotYetValid(AuthError):
    code, default_message = "token_not_yet_valid", "identity token is not valid yet"


class AudienceMismatch(AuthError):
    code, default_message = "audience_mismatch", "identity token audience is not accepted"


class UnknownIssuer(AuthError):
    code, default_message = "unknown_issuer", "identity token issuer is not configured"


class InvalidClaims(AuthError):
    code, default_message = "invalid_claims", "identity token lacks a required claim"


class Forbidden(BrokerError):
    code, status, default_message = "forbidden", 403, "not allowed"


class NoMatchingRule(Forbidden):
    code, default_message = "no_matching_rule", "no policy rule matches this identity"


class SessionNotFound(BrokerError):
    code, status, default_message = "session_not_found", 404, "no such session"


class UpstreamError(BrokerError):
    code, status, default_message = "upstream_unavailable", 503, "a dependency is unavailable"


class VaultUnavailable(UpstreamError):
    code, default_message = "vault_unavailable", "OpenBao is unavailable"
    request_sent: bool = True  # False when no connection was made: OpenBao saw nothing


class IssuerUnavailable(UpstreamError):
    code, default_message = "issuer_unavailable", "the identity issuer's keys are unavailable"


class VaultRejected(BrokerError):
    code, status, default_message = "vault_rejected", 502, "OpenBao rejected the broker's request"
    status_seen: int = 0  # OpenBao's HTTP status, for callers that treat some refusals as done
    reasons: tuple[str, ...] = ()  # OpenBao's own error strings (never carry tokens)


class ConfigError(Exception):
    """Every configuration problem found, as ``(where, why)`` pairs."""

    code = "config_error"

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{where}: {why}" for where, why in self.problems))


class SessionNotActive(BrokerError):
    code, status, default_message = "session_not_active", 409, "the session is no longer active"


class AdminUnauthorized(BrokerError):
    code, status, default_message = "admin_unauthorized", 401, "admin credential required"


class TokenTooLarge(AuthError):
    code, default_message = "token_too_large", "identity token is larger than the broker accepts"


class UnsupportedCriticalHeader(AuthError):
    code = "unsupported_critical_header"
    default_message = "identity token names a critical header extension the broker does not support"


class IssuedInFuture(AuthError):
    code, default_message = "issued_in_future", "identity token is issued in the future"


class TokenTooOld(AuthError):
    code, default_message = "token_too_old", "identity token is older than the issuer allows"


class ReplayedToken(AuthError):
    code, default_message = "replayed_token", "identity token was already used to open a session"


class TooManyRequests(BrokerError):
    code, status, default_message = "too_many_requests", 429, "too many requests"
    retry_after_s: float = 1.0

    @property
    def retry_after(self) -> int:
        """Whole seconds for the ``Retry-After`` header (never 0 for a refusal)."""
        return max(1, math.ceil(self.retry_after_s))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RateLimited(TooManyRequests):
    code = "rate_limited"

    def __init__(self, scope: str, retry_after_s: float) -> None:
        self.scope = scope
        self.retry_after_s = retry_after_s
        super().__init__(f"too many requests ({scope} limit); retry after {self.retry_after}s")


class TooManySessions(TooManyRequests):
    code = "too_many_sessions"
    default_message = "this identity already holds as many sessions as its rule allows"

    def __init__(self, retry_after_s: float = 30.0) -> None:
        self.retry_after_s = retry_after_s
        super().__init__()


class StoreUnavailable(UpstreamError):
    code, default_message = "store_unavailable", "the session store is unavailable"
