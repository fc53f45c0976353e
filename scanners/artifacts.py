"""Scanning files and directories (first cut: plain files; archives and images come later).

Each file is streamed through the redactor in report mode, so files, logs and `sluice redact`
share one notion of a line, a long line and a multi-line key. Binary files, unreadable files
and lines longer than the limit are reported as skipped, never fatal.
"""

from __future__ import annotations

import codecs
import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scanners.engine import Engine
from scanners.findings import Finding
from scanners.redactor import DEFAULT_MAX_LINE, Redactor

SNIFF_BYTES = 8192
CHUNK_SIZE = 1 << 20
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}
)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
    line: int | None = None


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0


def excluded(path: str, patterns: Sequence[str]) -> bool:
    """True when the path or any of its components matches one of the glob patterns."""
    normal = os.path.normpath(path)
    parts = normal.split(os.sep)
    return any(fnmatch.fnmatch(normal, p) or any(fnmatch.fnmatch(c, p) for c in parts) for p in patterns)


def iter_files(paths: list[str], exclude: Sequence[str] = ()) -> Iterator[tuple[str, str | None]]:
    """(path, problem) for every file under `paths`; directories are walked, VCS dirs and
    `exclude` globs skipped."""
    for root in paths:
        if os.path.isdir(root):
            for dirpath, dirnames, filenames in os.walk(root, onerror=None):
                dirnames[:] = sorted(
                    d for d in dirnames
                    if d not in SKIPPED_DIRS and not excluded(os.path.join(dirpath, d), exclude)
                )
                for name in sorted(filenames):
                    full = os.path.join(dirpath, name)
                    if excluded(full, exclude):
                        continue
                    if os.path.islink(full) and not os.path.exists(full):
                        yield full, "broken symlink"
                    elif os.path.isfile(full):
                        yield full, None
                    else:
                        yield full, "not a regular file"
        elif os.path.isfile(root):
            yield root, None
        elif os.path.exists(root):
            yield root, "not a regular file"
        else:
            yield root, "no such file or directory"


def scan_file(engine: Engine, path: str, *, max_line_length: int = DEFAULT_MAX_LINE) -> ScanResult:
    result = ScanResult()
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
            if b"\0" in head:
                result.skipped.append(Skipped(path, "binary file"))
                return result
            result.files = 1
            redactor = Redactor(
                engine, mode="report", max_line_length=max_line_length,
                source=path, skip_long_lines=True,
            )
            decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
            data = head
            while data:
                redactor.feed(decoder.decode(data))
                result.findings.extend(redactor.take_findings())
                data = handle.read(CHUNK_SIZE)
            redactor.feed(decoder.decode(b"", final=True))
            redactor.flush()
            result.findings.extend(redactor.take_findings())
    except OSError as exc:
        result.skipped.append(Skipped(path, f"unreadable ({exc.strerror or type(exc).__name__})"))
        return result
    for line in redactor.skipped_lines:
        result.skipped.append(Skipped(path, f"line longer than {max_line_length} characters", line))
    return result


def scan_paths(
    engine: Engine,
    paths: list[str],
    *,
    max_line_length: int = DEFAULT_MAX_LINE,
    exclude: Sequence[str] = (),
) -> ScanResult:
    total = ScanResult()
    for path, problem in iter_files(paths, exclude):
        if problem is not None:
            total.skipped.append(Skipped(path, problem))
            continue
        one = scan_file(engine, path, max_line_length=max_line_length)
        total.findings.extend(one.findings)
        total.skipped.extend(one.skipped)
        total.files += one.files
    return total


def display_path(path: str) -> str:
    """Paths as given, relative ones kept relative (baselines compare them that way)."""
    return str(Path(path))
