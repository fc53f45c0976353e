"""What the engine reports: spans of text, and findings placed in a file or stream.

A `Span` is an offset range in one text; a `Finding` adds where that text came from.
The secret itself travels only inside `SecretValue`, whose repr and str are redacted, so
printing or logging a finding can never leak the value; reports show it only on request.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

# Per-process key: fingerprints identify a secret within a run (and across runs when the user
# provides SLUICE_FINGERPRINT_KEY) without being a dictionary-attackable plain hash.
_PROCESS_KEY = os.urandom(32)


def fingerprint_key() -> bytes:
    env = os.environ.get("SLUICE_FINGERPRINT_KEY")
    return env.encode() if env else _PROCESS_KEY


def fingerprint(value: str, key: bytes | None = None) -> str:
    """Keyed fingerprint of a secret: HMAC-SHA256, first 128 bits in hex."""
    mac = hmac.new(key or fingerprint_key(), value.encode("utf-8", "surrogateescape"), "sha256")
    return mac.hexdigest()[:32]


def detect_secrets_hash(value: str) -> str:
    """The unkeyed SHA-1 detect-secrets stores in its baselines (only used to compare)."""
    return hashlib.sha1(value.encode("utf-8", "surrogateescape")).hexdigest()


class SecretValue:
    """A secret's clear text that refuses to show itself in reprs, logs and tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretValue(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and hmac.compare_digest(
            self._value.encode("utf-8", "surrogateescape"),
            other._value.encode("utf-8", "surrogateescape"),
        )

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, order=True)
class Span:
    """A secret at [start, end) of one text (0-based, end exclusive), found by `rule`."""

    start: int
    end: int
    rule: str


@dataclass(frozen=True)
class Finding:
    """A secret placed in a source: `line` is 1-based, `start`/`end` are 0-based columns."""

    file: str
    line: int
    start: int
    end: int
    rule: str
    value: SecretValue = field(compare=False, repr=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value.reveal())

    def as_record(self, *, show_value: bool = False) -> dict[str, object]:
        record: dict[str, object] = {
            "file": self.file,
            "line": self.line,
            "start": self.start,
            "end": self.end,
            "rule": self.rule,
            "fingerprint": self.fingerprint,
        }
        if show_value:
            record["value"] = self.value.reveal()
        return record
