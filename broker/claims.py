"""Identity-token verification: pure, synchronous, ``now`` passed in.

Invariants:
- nothing here does I/O; the caller hands over the key that the token's ``kid`` names;
- the size is checked before any parsing, and the compact form is parsed here (strict
  base64url, JSON objects without duplicate members, no NaN/Infinity), so pyjwt only ever sees
  a signature check; every failure becomes one of ``broker.errors``' AuthError codes;
- ``none`` and HS* are refused whatever the config says; a ``crit`` header is refused because
  this verifier implements no JWS extension (RFC 7515 4.1.11);
- the order of checks is fixed (size, shape, crit, issuer, algorithm, signature, exp, nbf, iat,
  audience, subject, kind's claims, jti) so a token with several faults always gets the same
  code.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeGuard

import jwt
from jwt.api_jwk import PyJWK

from broker import errors
from broker.acl import MissingClaim, claim_value

DEFAULT_ALGORITHMS = ("RS256", "ES256")
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_TOKEN_BYTES = 16 * 1024
DEFAULT_LEEWAY_S = 60.0
MAX_JTI_CHARS = 256
KINDS = ("kubernetes", "github", "gitlab", "generic")
# Claims each platform always sets; a token of that kind without them is not what it claims.
KIND_REQUIRED_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "kubernetes": ("kubernetes.io.namespace", "kubernetes.io.serviceaccount.name"),
    "github": ("repository", "repository_owner", "ref", "run_id", "event_name"),
    "gitlab": ("project_path", "ref", "ref_protected", "pipeline_id"),
    "generic": (),
}

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted issuer: who it is, which audiences it may address, where its keys live."""

    issuer: str
    audiences: tuple[str, ...]
    name: str = ""  # short label for rules, metrics and audit; defaults to the issuer URL
    kind: str = "generic"
    discovery_url: str | None = None  # default: <issuer>/.well-known/openid-configuration
    jwks_url: str | None = None  # when set, discovery is skipped
    jwks_file: str | None = None  # static key set (clusters whose discovery is private)
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway_s: float = DEFAULT_LEEWAY_S
    max_token_age_s: float | None = None  # iat older than this is refused (iat then required)
    single_use_jti: bool = True  # a token with jti opens one session only

    def discovery(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def label(self) -> str:
        return self.name or self.issuer


@dataclass(frozen=True)
class Unverified:
    """What can be read from a token before its signature is checked: only used to route it."""

    issuer: str
    kid: str | None
    alg: str


@dataclass(frozen=True)
class ParsedToken:
    """A compact JWS split and decoded, not yet trusted."""

    header: Mapping[str, Any] = field(repr=False)
    payload: Mapping[str, Any] = field(repr=False)
    signing_input: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @cached_property
    def _routing(self) -> Unverified:
        # Read once per token: the exchange routes on it and verify_parsed checks it again.
        iss, kid, alg = self.payload.get("iss"), self.header.get("kid"), self.header.get("alg")
        if not isinstance(iss, str) or not iss:
            raise errors.InvalidClaims("identity token has no issuer")
        if not isinstance(alg, str) or (kid is not None and not isinstance(kid, str)):
            raise errors.InvalidToken()
        return Unverified(issuer=iss, kid=kid, alg=alg)

    def routing(self) -> Unverified:
        return self._routing


@dataclass(frozen=True)
class VerifiedClaims:
    issuer: str
    subject: str
    audience: tuple[str, ...]
    expires_at: float
    claims: Mapping[str, Any] = field(repr=False)
    jti: str | None = None


def check_size(token: str, max_bytes: int = MAX_TOKEN_BYTES) -> None:
    """Refuse an oversized token before anything looks inside it."""
    if len(token) > max_bytes:
        raise errors.TokenTooLarge()


def parse(token: str, max_bytes: int = MAX_TOKEN_BYTES) -> ParsedToken:
    """Split and decode a compact JWS; raise an AuthError for any structural fault."""
    check_size(token, max_bytes)
    if not token or not token.isascii() or token.count(".") != 2:
        raise errors.InvalidToken()
    head_b64, body_b64, sig_b64 = token.split(".")
    header = _json_object(_b64decode(head_b64))
    payload = _json_object(_b64decode(body_b64))
    signature = _b64decode(sig_b64)
    if "crit" in header:
        # We understand no JWS extension, so any crit list names one we must not ignore.
        raise errors.UnsupportedCriticalHeader()
    return ParsedToken(header, payload, f"{head_b64}.{body_b64}".encode("ascii"), signature)


def peek(token: str, max_bytes: int = MAX_TOKEN_BYTES) -> Unverified:
    """Read ``iss``, ``kid`` and ``alg`` without trusting them, to pick the issuer and key."""
    return parse(token, max_bytes).routing()


def verify(token: str, key: PyJWK, cfg: IssuerConfig, now: float) -> VerifiedClaims:
    """Verify ``token`` against ``key`` and ``cfg`` at instant ``now`` (unix seconds)."""
    return verify_parsed(parse(token), key, cfg, now)


def check_algorithm(alg: str, cfg: IssuerConfig) -> None:
    """Refuse ``none``, HS* and anything the issuer's config does not list (before any key)."""
    if alg not in ASYMMETRIC_ALGORITHMS or alg not in cfg.algorithms:
        raise errors.DisallowedAlgorithm()


def verify_parsed(parsed: ParsedToken, key: PyJWK, cfg: IssuerConfig, now: float) -> VerifiedClaims:
    head = parsed.routing()
    if head.issuer != cfg.issuer:
        raise errors.UnknownIssuer()
    check_algorithm(head.alg, cfg)
    if key.algorithm_name != head.alg:
        raise errors.DisallowedAlgorithm()
    try:
        ok = key.Algorithm.verify(parsed.signing_input, key.key, parsed.signature)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise errors.InvalidSignature() from exc
    if not ok:
        raise errors.InvalidSignature()
    return check_claims(parsed.payload, cfg, now)


def check_claims(claims: Mapping[str, Any], cfg: IssuerConfig, now: float) -> VerifiedClaims:
    """The time, audience and identity checks on signature-verified claims."""
    leeway = cfg.leeway_s
    exp = _number(claims, "exp", required=True)
    assert exp is not None
    if now >= exp + leeway:
        raise errors.ExpiredToken()
    nbf = _number(claims, "nbf", required=False)
    if nbf is not None and now + leeway < nbf:
        raise errors.TokenNotYetValid()
    iat = _number(claims, "iat", required=cfg.max_token_age_s is not None)
    if iat is not None:
        if iat > now + leeway:
            raise errors.IssuedInFuture()
        if cfg.max_token_age_s is not None and now - iat > cfg.max_token_age_s + leeway:
            raise errors.TokenTooOld()

    audience = _audiences(claims.get("aud"))
    if not audience or not set(audience) & set(cfg.audiences):
        raise errors.AudienceMismatch()
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise errors.InvalidClaims("identity token has no subject")
    for name in KIND_REQUIRED_CLAIMS.get(cfg.kind, ()):
        if not _has_claim(claims, name):
            raise errors.InvalidClaims(f"{cfg.kind} identity token lacks claim {name!r}")
    jti = claims.get("jti")
    if jti is not None and (not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_CHARS):
        raise errors.InvalidClaims("identity token jti is not a short string")
    return VerifiedClaims(
        issuer=cfg.issuer,
        subject=sub,
        audience=audience,
        expires_at=exp,
        claims=claims,
        jti=jti,
    )


def _b64decode(segment: str) -> bytes:
    # Strict base64url without padding (RFC 7515 2): '=', '+', '/' and stray bytes are refused.
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise errors.InvalidToken()
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise errors.InvalidToken() from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member")  # two readers could disagree on which one counts
    return out


def _refuse_constant(_: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


# One decoder for every token: json.loads with hooks builds a new JSONDecoder per call.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise errors.InvalidToken() from exc
    if not isinstance(value, dict):
        raise errors.InvalidToken()
    return value


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise errors.InvalidClaims(f"identity token has no numeric {name}")
        return None
    if not _is_number(value):
        raise errors.InvalidClaims(f"identity token {name} is not numeric")
    try:
        number = float(value)
    except OverflowError as exc:  # an int too large for a float
        raise errors.InvalidClaims(f"identity token {name} is out of range") from exc
    if not math.isfinite(number):
        raise errors.InvalidClaims(f"identity token {name} is out of range")
    return number


def _has_claim(claims: Mapping[str, Any], dotted: str) -> bool:
    try:
        value = claim_value(claims, dotted)
    except MissingClaim:
        return False
    return value is not None and value != ""


def _audiences(aud: object) -> tuple[str, ...]:
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        return tuple(aud)
    return ()
