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
    │   └── InvalidClaims            401 invalid_claims      (required claim missing or mistyped)
    ├── Forbidden                    403 forbidden           (wrong session bearer)
    │   └── NoMatchingRule           403 no_matching_rule
    ├── SessionNotFound              404 session_not_found
    ├── UpstreamError                503 (abstract)
    │   ├── VaultUnavailable         503 vault_unavailable
    │   └── IssuerUnavailable        503 issuer_unavailable
    └── VaultRejected                502 vault_rejected      (OpenBao answered, but said no)

``ConfigError`` is separate: it is raised before the app exists and carries every problem found.
Messages are fixed, human-readable sentences; they never contain a token, a JWT or a secret.
"""

from __future__ import annotations

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


class IssuerUnavailable(UpstreamError):
    code, default_message = "issuer_unavailable", "the identity issuer's keys are unavailable"


class VaultRejected(BrokerError):
    code, status, default_message = "vault_rejected", 502, "OpenBao rejected the broker's request"


class ConfigError(Exception):
    """Every configuration problem found, as ``(where, why)`` pairs."""

    code = "config_error"

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{where}: {why}" for where, why in self.problems))
