"""Structure validators and checksums are total: odd input is False, never an exception."""

from __future__ import annotations

import base64
import json

import pytest

from scanners import checksums, structures
from tests.unit.scanners.rules.synth import ALNUM, b64url, crc_token, synth


def test_checksum_helper_builds_valid_tokens() -> None:
    """with_crc32_base62 builds what has_crc32_base62_suffix accepts, for GitHub and npm."""
    body = synth(ALNUM, 30, "helper")
    token = checksums.with_crc32_base62("npm_", body)
    assert token == crc_token("npm_", "helper")
    assert checksums.has_crc32_base62_suffix(token)
    with pytest.raises(ValueError):
        checksums.with_crc32_base62("npm_", body[:-1])


def test_base62_pads_to_width() -> None:
    """Small checksums are left-padded with zeros to six characters."""
    assert checksums.base62(0, 6) == "000000"
    assert checksums.base62(61, 6) == "00000z"
    assert checksums.base62(62, 6) == "000010"


@pytest.mark.parametrize("token", [
    "", "a.b", "a.b.c", "eyJ.eyJ.sig", "!!!.@@@.###", "eyJhbGciOiJub25lIn0.bm90IGpzb24.c2ln",
    b64url(b"[1,2]") + "." + b64url(b"{}") + ".sig",
])
def test_is_jwt_rejects_malformed(token: str) -> None:
    """Anything but a JSON-object header with `alg` and a JSON-object payload is not a JWT."""
    assert not structures.is_jwt(token)


def test_is_jwt_accepts_valid() -> None:
    """A header with alg and an object payload make a JWT."""
    token = b64url(json.dumps({"alg": "ES256"}).encode()) + "." + b64url(b'{"sub":"x"}') + ".s"
    assert structures.is_jwt(token)


@pytest.mark.parametrize(("encoded", "expected"), [
    (base64.b64encode(b"user:pa55word").decode(), True),
    (base64.b64encode(b"user:").decode(), False),
    (base64.b64encode(b"nocolon").decode(), False),
    (base64.b64encode(b"user:\x00\x01").decode(), False),
    (base64.b64encode(b"\xff\xfe:x").decode(), False),
    ("not base64!", False),
])
def test_is_basic_credentials(encoded: str, expected: bool) -> None:
    """Basic credentials are base64 of printable user:password with a password."""
    assert structures.is_basic_credentials(encoded) is expected


def test_is_discord_bot_token_needs_numeric_id() -> None:
    """The first part of a bot token decodes to the bot's snowflake id."""
    good = b64url(b"123456789012345678") + ".abcdef." + "x" * 27
    bad = b64url(b"hello-world-abcdefg") + ".abcdef." + "x" * 27
    assert structures.is_discord_bot_token(good)
    assert not structures.is_discord_bot_token(bad)


def test_is_pem_block_decodes_body() -> None:
    """A PEM block needs a base64 body of real size; stubs and garbage are refused."""
    body = base64.b64encode(bytes(range(96))).decode()
    good = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"
    assert structures.is_pem_block(good)
    assert structures.is_pem_block(good.replace("\n", "\\n"))
    stub = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"
    assert not structures.is_pem_block(stub)
    assert not structures.is_pem_block("-----BEGIN PRIVATE KEY-----\n" + "*" * 80 + "\n-----END")
