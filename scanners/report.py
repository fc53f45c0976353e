"""Presenting findings: a table for people, JSON lines for programs.

A record carries `file`, `line` (1-based), `start`/`end` (0-based columns, end exclusive),
`rule` and a keyed `fingerprint`; the value appears only when explicitly asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from scanners.findings import Finding


def jsonl(findings: Iterable[Finding], out: TextIO, *, show_values: bool = False) -> None:
    for finding in findings:
        out.write(json.dumps(finding.as_record(show_value=show_values), ensure_ascii=False))
        out.write("\n")


def table(findings: list[Finding], out: TextIO, *, show_values: bool = False) -> None:
    if not findings:
        out.write("No secrets found.\n")
        return
    rows = [
        (f"{f.file}:{f.line}:{f.start + 1}", f.rule, f.fingerprint[:12])
        + ((f.value.reveal(),) if show_values else ())
        for f in findings
    ]
    header = ("LOCATION", "RULE", "FINGERPRINT") + (("VALUE",) if show_values else ())
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths)] + [str(row[-1])]
        out.write("  ".join(cells).rstrip() + "\n")
    files = len({f.file for f in findings})
    out.write(f"\n{len(findings)} finding(s) in {files} file(s).\n")
