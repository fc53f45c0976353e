"""Errors of the scanners package. A finding is a result, never an exception.

    ScannerError                 code "scanner_error"     exit 2
    ├── ConfigError              code "config_error"      exit 2  (bad option, unreadable config)
    ├── KnownValueRejected       code "known_value_rejected"  exit 2  (too short / low entropy)
    └── BaselineError            code "baseline_error"    exit 2  (unreadable .secrets.baseline)

Messages never carry a secret value: they name the source (file, variable, position) instead.
"""

from __future__ import annotations


class ScannerError(Exception):
    code = "scanner_error"
    exit_code = 2


class ConfigError(ScannerError):
    code = "config_error"


class KnownValueRejected(ScannerError):
    """A value is too short or too predictable to mask safely (masking `true` hides nothing)."""

    code = "known_value_rejected"

    def __init__(self, reason: str, *, source: str = "value") -> None:
        self.reason = reason
        self.source = source
        super().__init__(f"known value from {source} refused: {reason}")


class BaselineError(ScannerError):
    code = "baseline_error"
