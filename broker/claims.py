"""Identity-token verification: pure, synchronous, ``now`` passed in.

Invariants:
- nothing here does I/O; the caller hands over the key that the token's ``kid`` names;
- every pyjwt error is translated here into one of ``broker.errors``' AuthError codes;
- the order of checks is fixed (shape, issuer, algorithm, signature, time, audience, claims) so a
  token with several faults always gets the same code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import jwt
from jwt.api_jwk import PyJWK

from broker import errors

DEFAULT_ALGORITHMS = ("RS256", "ES256")
MAX_TOKEN_BYTES = 16 * 1024


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted issuer: who it is, which audiences it may address, where its keys live."""

    issuer: str
    audiences: tuple[str, ...]
    discovery_url: str | None = None  # default: <issuer>/.well-known/openid-configuration
    jwks_url: str | None = None  # when set, discovery is skipped
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway_s: float = 30.0

    def discovery(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class Unverified:
    """What can be read from a token before its signature is checked: only used to route it."""

    issuer: str
    kid: str | None
    alg: str


@dataclass(frozen=True)
class VerifiedClaims:
    issuer: str
    subject: str
    audience: tuple[str, ...]
    expires_at: float
    claims: Mapping[str, Any] = field(repr=False)


def peek(token: str, max_bytes: int = MAX_TOKEN_BYTES) -> Unverified:
    """Read ``iss``, ``kid`` and ``alg`` without trusting them, to pick the issuer and key."""
    if not token or len(token) > max_bytes or token.count(".") != 2:
        raise errors.InvalidToken()
    try:
        header = jwt.get_unverified_header(token)
        payload = jwt.decode(token, options={"verify_signature": False})
    except (jwt.InvalidTokenError, json.JSONDecodeError, ValueError) as exc:
        raise errors.InvalidToken() from exc
    iss, kid, alg = payload.get("iss"), header.get("kid"), header.get("alg")
    if not isinstance(iss, str) or not iss:
        raise errors.InvalidClaims("identity token has no issuer")
    if not isinstance(alg, str) or (kid is not None and not isinstance(kid, str)):
        raise errors.InvalidToken()
    return Unverified(issuer=iss, kid=kid, alg=alg)


def verify(token: str, key: PyJWK, cfg: IssuerConfig, now: float) -> VerifiedClaims:
    """Verify ``token`` against ``key`` and ``cfg`` at instant ``now`` (unix seconds)."""
    head = peek(token)
    if head.issuer != cfg.issuer:
        raise errors.UnknownIssuer()
    if head.alg not in cfg.algorithms or (key.algorithm_name and key.algorithm_name != head.alg):
        raise errors.DisallowedAlgorithm()
    try:
        # Time, audience and issuer are checked below against the injected `now`; pyjwt only
        # checks the signature here.
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=[head.alg],
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise errors.InvalidSignature() from exc
    except jwt.InvalidAlgorithmError as exc:
        raise errors.DisallowedAlgorithm() from exc
    except jwt.InvalidTokenError as exc:
        raise errors.InvalidToken() from exc

    exp = claims.get("exp")
    if not _is_number(exp):
        raise errors.InvalidClaims("identity token has no numeric exp")
    if now >= float(exp) + cfg.leeway_s:
        raise errors.ExpiredToken()
    nbf = claims.get("nbf")
    if nbf is not None:
        if not _is_number(nbf):
            raise errors.InvalidClaims("identity token nbf is not numeric")
        if now + cfg.leeway_s < float(nbf):
            raise errors.TokenNotYetValid()

    audience = _audiences(claims.get("aud"))
    if not audience or not set(audience) & set(cfg.audiences):
        raise errors.AudienceMismatch()
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise errors.InvalidClaims("identity token has no subject")
    return VerifiedClaims(
        issuer=cfg.issuer, subject=sub, audience=audience, expires_at=float(exp), claims=claims
    )


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _audiences(aud: object) -> tuple[str, ...]:
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        return tuple(aud)
    return ()
