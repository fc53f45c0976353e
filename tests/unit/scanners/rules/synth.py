"""Synthetic, correctly formatted secret values for rule tests (never real credentials).

Values are deterministic (seeded by a salt) so a failing case is reproducible, and are drawn
again if a draw happens to look like a placeholder (a run of six equal characters, say).
"""

from __future__ import annotations

import base64
import random
import zlib

import pytest

from scanners.confirm import compiled, secret_spans
from scanners.filters import is_placeholder
from scanners.rules import rules_by_id

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
ALNUM = UPPER + LOWER + DIGITS
LOWER_ALNUM = LOWER + DIGITS
UPPER_ALNUM = UPPER + DIGITS
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"

Case = tuple[str, str, "str | None"]


def synth(charset: str, length: int, salt: str) -> str:
    for attempt in range(1000):
        rng = random.Random(f"{salt}/{attempt}")
        value = "".join(rng.choice(charset) for _ in range(length))
        if not is_placeholder(value) and len(set(value)) > min(length, len(charset)) // 3:
            return value
    raise AssertionError("no usable synthetic value")  # pragma: no cover


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def crc_token(prefix: str, salt: str) -> str:
    """A GitHub/npm-style token with a valid checksum, computed independently of the scanner."""
    body = synth(ALNUM, 30, salt)
    number, digits = zlib.crc32(body.encode()), ""
    alphabet = DIGITS + UPPER + LOWER
    while number:
        number, rest = divmod(number, 62)
        digits = alphabet[rest] + digits
    return prefix + body + digits.rjust(6, "0")


def break_checksum(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def params(cases: list[Case]) -> pytest.MarkDecorator:
    ids = [f"{rule_id}-{'tp' if secret else 'fp'}{n}" for n, (rule_id, _, secret) in
           enumerate(cases)]
    return pytest.mark.parametrize(("rule_id", "line", "secret"), cases, ids=ids)


def check(rule_id: str, line: str, secret: str | None) -> None:
    rule = rules_by_id()[rule_id]
    spans = secret_spans(rule, line)
    if secret is None:
        assert spans == [], f"{rule_id} fired on a near miss"
        return
    start = line.index(secret)
    assert spans == [(start, start + len(secret))]


def keyword_in_match(rule_id: str, line: str) -> bool:
    rule = rules_by_id()[rule_id]
    match = compiled(rule).search(line)
    return match is not None and any(k in match.group(0).lower() for k in rule.keywords)
