"""Checksums embedded in token formats, so a look-alike string can be told from a real token.

GitHub classic tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm tokens (`npm_`) are a
four-character prefix, 30 random base62 characters and a 6-character checksum: the CRC32 of
the random part in base62 (digits, upper case, lower case), left-padded with zeros. A random
36-character string passes by chance about once in 2**32.
"""

from __future__ import annotations

import zlib

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(BASE62_ALPHABET[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def crc32_base62(body: str) -> str:
    """The 6-character checksum GitHub and npm append to a token body."""
    return base62(zlib.crc32(body.encode("ascii")), 6)


def has_crc32_base62_suffix(token: str, prefix_len: int = 4) -> bool:
    """True when `token` (prefix + 30 characters + checksum) carries a matching checksum."""
    body, checksum = token[prefix_len:-6], token[-6:]
    if len(body) != 30 or not body.isascii():
        return False
    return crc32_base62(body) == checksum


def with_crc32_base62(prefix: str, body: str) -> str:
    """A well-formed token from a prefix and a 30-character body (for test corpora)."""
    if len(body) != 30:
        raise ValueError("the token body is 30 characters")
    return prefix + body + crc32_base62(body)
