"""Exact-value matching of known secrets (registered by the CI runner, the sidecar or a file).

A known value is found in the forms it takes in logs: plain, JSON-escaped, URL-encoded and
base64 (standard and URL-safe, at all three byte alignments, so it is found inside a longer
encoded blob too). The clear value is not kept: each form is held as a short clear anchor (its
first few characters, to locate candidates) plus an HMAC of the whole form under a per-process
key, and a candidate is confirmed by recomputing the HMAC. Values too short or too predictable
to mask safely are refused: masking `true` or `{` everywhere would reveal more than it hides.
"""

from __future__ import annotations

import base64
import hmac
import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from scanners.errors import KnownValueRejected
from scanners.findings import Span

MIN_LENGTH = 8
MIN_ENTROPY = 2.5  # bits per character
ANCHOR_LENGTH = 6
RULE_ID = "known-value"


def _entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _base64_cores(raw: bytes) -> set[str]:
    """The part of the base64 text that depends only on `raw`, at byte alignment 0, 1 and 2."""
    cores: set[str] = set()
    for align in range(3):
        first = math.ceil(align * 8 / 6)  # chars mixing in the bytes before the value
        last = (align + len(raw)) * 8 // 6  # chars mixing in the bytes after it are excluded
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * align + raw).decode("ascii")
            cores.add(text[first:last])
    return cores


def forms_of(value: str) -> set[str]:
    """Every textual form of `value` the matcher looks for."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote(value),
        quote_plus(value, safe=""),
    }
    forms |= _base64_cores(value.encode("utf-8", "surrogateescape"))
    return {form for form in forms if len(form) >= MIN_LENGTH}


@dataclass(frozen=True)
class _Form:
    length: int
    mac: bytes
    label: str


class KnownValues:
    """A set of registered secrets, matched exactly in all their forms; holds no clear value."""

    def __init__(self) -> None:
        self._key = os.urandom(32)
        self._by_anchor: dict[str, list[_Form]] = {}
        self.max_length = 0
        self.count = 0

    def _mac(self, text: str) -> bytes:
        return hmac.new(self._key, text.encode("utf-8", "surrogateescape"), "sha256").digest()

    def add(self, value: str, *, label: str = RULE_ID, source: str = "value") -> None:
        """Register `value`; a multi-line value is registered line by line, as logs split it."""
        lines = [line.strip() for line in value.splitlines()] if "\n" in value or "\r" in value else [value]
        lines = [line for line in lines if line] if len(lines) > 1 else lines
        for line in lines:
            check_value(line, source=source)
        for line in lines:
            for form in forms_of(line):
                anchor = form[:ANCHOR_LENGTH]
                entry = _Form(len(form), self._mac(form), label)
                bucket = self._by_anchor.setdefault(anchor, [])
                if entry not in bucket:
                    bucket.append(entry)
                self.max_length = max(self.max_length, len(form))
            self.count += 1

    @property
    def anchors(self) -> tuple[str, ...]:
        return tuple(self._by_anchor)

    def __len__(self) -> int:
        return self.count

    def spans(self, text: str) -> list[Span]:
        """Every confirmed occurrence of a registered value's form in `text`."""
        found: list[Span] = []
        for anchor, entries in self._by_anchor.items():
            pos = text.find(anchor)
            while pos != -1:
                for entry in entries:
                    end = pos + entry.length
                    if end <= len(text) and hmac.compare_digest(self._mac(text[pos:end]), entry.mac):
                        found.append(Span(pos, end, entry.label))
                pos = text.find(anchor, pos + 1)
        return found


def check_value(value: str, *, source: str = "value") -> None:
    """Raise `KnownValueRejected` when `value` is too short or too predictable to mask."""
    if len(value) < MIN_LENGTH:
        raise KnownValueRejected(
            f"shorter than {MIN_LENGTH} characters; masking it would hide ordinary text",
            source=source,
        )
    entropy = _entropy(value)
    if entropy < MIN_ENTROPY:
        raise KnownValueRejected(
            f"too predictable ({entropy:.1f} bits/char, need {MIN_ENTROPY}); "
            "masking it would hide ordinary text",
            source=source,
        )
