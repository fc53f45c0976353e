"""Suppress findings a detect-secrets `.secrets.baseline` already records.

A baseline lists, per file, each secret's `line_number` and `hashed_secret` (the SHA-1 of the
secret text). A Sluice finding is suppressed when file, line and that hash all agree, so a
secret that moves or changes shows up again. Paths compare after normalisation, relative to
the directory the scan runs in (as detect-secrets writes them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scanners.errors import BaselineError
from scanners.findings import Finding, detect_secrets_hash


def _normal(path: str) -> str:
    return os.path.normpath(path).replace(os.sep, "/")


@dataclass(frozen=True)
class Baseline:
    entries: frozenset[tuple[str, int, str]]  # (file, line, sha1 of the secret)

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BaselineError(f"cannot read baseline {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise BaselineError(f"baseline {path} is not JSON (line {exc.lineno})") from exc
        results = document.get("results") if isinstance(document, dict) else None
        if not isinstance(results, dict):
            raise BaselineError(f"baseline {path} has no 'results' object")
        entries: set[tuple[str, int, str]] = set()
        for filename, secrets in results.items():
            if not isinstance(secrets, list):
                raise BaselineError(f"baseline {path}: results for {filename!r} is not a list")
            for item in secrets:
                try:
                    entries.add((_normal(filename), int(item["line_number"]), str(item["hashed_secret"])))
                except (KeyError, TypeError, ValueError) as exc:
                    raise BaselineError(
                        f"baseline {path}: entry for {filename!r} lacks line_number/hashed_secret"
                    ) from exc
        return cls(frozenset(entries))

    def suppresses(self, finding: Finding) -> bool:
        key = (_normal(finding.file), finding.line, detect_secrets_hash(finding.value.reveal()))
        return key in self.entries

    def filter(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if not self.suppresses(f)]
