"""Structure checks for formats that carry decodable data: JWTs, Basic credentials, macaroons.

Each check is total: malformed input returns False, never raises, so a validator cannot turn
an odd byte sequence in a log into a crash of the scanner.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def b64decode_loose(segment: str, urlsafe: bool = True) -> bytes | None:
    """Decode base64 (URL-safe by default) with or without padding; None if it is not base64."""
    padded = segment + "=" * (-len(segment) % 4)
    try:
        if urlsafe:
            return base64.b64decode(padded, altchars=b"-_", validate=True)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def json_object(segment: str) -> dict[str, Any] | None:
    raw = b64decode_loose(segment.rstrip("="))
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def is_jwt(token: str) -> bool:
    """A JWS compact token: header is a JSON object naming `alg`, payload a JSON object."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    header = json_object(parts[0])
    return header is not None and "alg" in header and json_object(parts[1]) is not None


def is_basic_credentials(encoded: str) -> bool:
    """Base64 of printable `user:password` with a non-empty password."""
    raw = b64decode_loose(encoded, urlsafe=False)
    if raw is None:
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    _user, sep, password = text.partition(":")
    return bool(sep) and bool(password) and text.isprintable()


def has_json_segment(token: str, index: int, key: str, sep: str = ".") -> bool:
    """The `index`-th `sep`-separated part of `token` is base64 JSON holding `key`."""
    parts = token.split(sep)
    if index >= len(parts):
        return False
    obj = json_object(parts[index])
    return obj is not None and key in obj


def decodes_b64url(segment: str) -> bool:
    return b64decode_loose(segment) is not None


def is_discord_bot_token(token: str) -> bool:
    """The first part of a Discord bot token is the base64 of the bot's numeric snowflake id."""
    raw = b64decode_loose(token.split(".", 1)[0])
    return raw is not None and raw.isdigit() and 17 <= len(raw) <= 20


def is_pem_block(block: str) -> bool:
    """A PEM (or JSON-escaped PEM) block whose body is base64 of at least 48 bytes."""
    text = block.replace("\\r", "\n").replace("\\n", "\n")
    body = "".join(
        line.strip() for line in text.splitlines()
        if line.strip() and not line.startswith("-----") and ":" not in line
    )
    raw = b64decode_loose(body, urlsafe=False)
    return raw is not None and len(raw) >= 48
