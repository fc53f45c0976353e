"""Format-level credentials: JWTs and HTTP Authorization headers.

A JWT is only reported when its header decodes to a JSON object naming `alg` and its
payload to a JSON object: base64 that merely starts with `eyJ` is not enough. Basic
credentials must decode to printable `user:password`.
"""

from __future__ import annotations

from scanners.rule import Rule
from scanners.structures import is_basic_credentials, is_jwt

_T = ("provider", "token")
_AUTH = r"(?i:authorization)[\"']?\s{0,3}[:=]\s{0,3}[\"']?"

RULES: tuple[Rule, ...] = (
    Rule(
        id="jwt",
        description="JSON Web Token (signed, structure-validated)",
        pattern=r"\b(?P<secret>eyJ[A-Za-z0-9_-]{10,1000}\.eyJ[A-Za-z0-9_-]{2,8000}"
        r"\.[A-Za-z0-9_-]{16,1024})(?:[^A-Za-z0-9_.-]|$)",
        keywords=("eyj",), validate=is_jwt, tags=_T,
    ),
    Rule(
        id="authorization-bearer",
        description="Bearer token in an Authorization header",
        pattern=_AUTH + r"(?i:bearer)\s{1,3}(?P<secret>[A-Za-z0-9._~+/-]{20,4096}={0,2})"
        r"(?:[^A-Za-z0-9._~+/=-]|$)",
        keywords=("bearer",), min_entropy=3.0, tags=_T,
    ),
    Rule(
        id="authorization-basic",
        description="Basic credentials (base64 user:password) in an Authorization header",
        pattern=_AUTH + r"(?i:basic)\s{1,3}(?P<secret>[A-Za-z0-9+/]{8,1024}={0,2})"
        r"(?:[^A-Za-z0-9+/=]|$)",
        keywords=("basic",), validate=is_basic_credentials, tags=_T,
    ),
    Rule(
        id="curl-user-password",
        description="Password passed to curl with -u/--user user:password",
        pattern=r"\bcurl\b[^\n]{0,300}?\s(?:-u|--user)\s{1,3}[\"']?[^\s:\"']{1,128}:"
        r"(?P<secret>[^\s\"']{1,256})",
        keywords=("curl",), tags=_T,
    ),
)
