"""`sluice scan` and `sluice redact`. Exit codes: 0 clean, 1 findings (or withheld lines), 2
usage or configuration error.

Kept light on imports: `sluice redact` runs in log pipelines, so it loads only the scanners
package (no aiohttp, hvac or broker code) and a cached hyperscan database.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

import click

from scanners.engine import Engine
from scanners.errors import ConfigError, KnownValueRejected, ScannerError
from scanners.findings import Finding
from scanners.known import KnownValues
from scanners.redactor import DEFAULT_MARKER, DEFAULT_MAX_LINE, MODES

_common_options = [
    click.option("--known-values-file", "known_files", multiple=True,
                 type=click.Path(dir_okay=False, path_type=Path), envvar="SLUICE_KNOWN_VALUES_FILE",
                 help="File of known secret values, one per line, matched exactly in every form."),
    click.option("--known-env", "known_envs", multiple=True, metavar="NAME",
                 help="Environment variable whose value is a known secret (repeatable)."),
    click.option("--disable-rule", "disabled", multiple=True, metavar="ID",
                 help="Rule id to switch off (repeatable)."),
    click.option("--max-line-length", type=click.IntRange(min=256), default=DEFAULT_MAX_LINE,
                 show_default=True, help="Longer lines are processed in windows (redact) or skipped (scan)."),
    click.option("--engine", "backend", type=click.Choice(["auto", "hyperscan", "python"]),
                 default="auto", show_default=True, hidden=True),
]


F = TypeVar("F", bound=Callable[..., Any])


def common_options(func: F) -> F:
    for option in reversed(_common_options):
        func = option(func)
    return func


def build_engine(
    known_files: Sequence[Path], known_envs: Sequence[str], disabled: Sequence[str], backend: str
) -> Engine:
    """Load rules and known values; every problem is reported together as one ConfigError."""
    from scanners.rules import ALL_RULES

    problems: list[str] = []
    ids = {rule.id for rule in ALL_RULES}
    problems += [f"--disable-rule: unknown rule id {rid!r}" for rid in disabled if rid not in ids]
    known = KnownValues()
    for path in known_files:
        try:
            lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        except OSError as exc:
            problems.append(f"--known-values-file {path}: {exc.strerror}")
            continue
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    known.add(line.strip(), source=f"{path}:{number}")
                except KnownValueRejected as exc:
                    problems.append(str(exc))
    for name in known_envs:
        value = os.environ.get(name)
        if value is None:
            problems.append(f"--known-env {name}: variable is not set")
            continue
        try:
            known.add(value, source=f"${name}")
        except KnownValueRejected as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems))
    rules = [rule for rule in ALL_RULES if rule.id not in set(disabled)]
    return Engine(rules, known, backend=backend)


def _fail(exc: ScannerError) -> NoReturn:
    click.echo(f"sluice: {exc}", err=True)
    sys.exit(exc.exit_code)


@click.command()
@click.option("--mode", type=click.Choice(MODES), default="redact", show_default=True,
              help="redact: replace secrets; block: withhold lines holding one (exit 1); "
                   "report: pass through, findings as JSON lines.")
@click.option("--marker", default=DEFAULT_MARKER, show_default=True,
              help="Replacement text; {rule} is the rule id.")
@click.option("--report-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write findings as JSON lines here (default in report mode: stderr).")
@click.option("--flush-idle-ms", type=click.IntRange(min=0), default=0, show_default=True,
              help="After this long without input, write the unfinished line up to its last "
                   "whitespace (a secret still arriving is held), and write progress redraws "
                   "at each \\r; 0: hold an unfinished line until its newline.")
@common_options
def redact(
    mode: str, marker: str, report_file: Path | None, flush_idle_ms: int,
    known_files: tuple[Path, ...],
    known_envs: tuple[str, ...], disabled: tuple[str, ...], max_line_length: int, backend: str,
) -> None:
    """Copy stdin to stdout with secrets redacted, line by line."""
    from scanners import report
    from scanners.redactor import Redactor
    from scanners.stream import redact_stream

    try:
        marker.format(rule="x")
    except (KeyError, IndexError, ValueError):
        _fail(ConfigError("--marker may only use the {rule} placeholder"))
    try:
        engine = build_engine(known_files, known_envs, disabled, backend)
    except ScannerError as exc:
        _fail(exc)
    sink: TextIO | None = None
    if report_file is not None:
        try:
            sink = open(report_file, "a", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            _fail(ConfigError(f"--report-file {report_file}: {exc.strerror}"))
    elif mode == "report":
        sink = sys.stderr
    redactor = Redactor(
        engine, mode=mode, marker=marker, max_line_length=max_line_length,
        keep_findings=sink is not None, eager_cr=flush_idle_ms > 0,
    )

    def on_findings(found: list[Finding]) -> None:
        if sink is not None:
            report.jsonl(found, sink)
            sink.flush()

    try:
        redact_stream(sys.stdin.buffer, sys.stdout.buffer, redactor, on_findings=on_findings,
                      idle_s=flush_idle_ms / 1000)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away: stop quietly, as cat does
        sys.exit(1)
    finally:
        if sink is not None and sink is not sys.stderr:
            sink.close()
    if mode == "block" and redactor.withheld_lines:
        click.echo(f"sluice: withheld {redactor.withheld_lines} line(s) holding secrets", err=True)
        sys.exit(1)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table",
              show_default=True)
@click.option("--show-values", is_flag=True, help="Include the secret values (careful).")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="detect-secrets .secrets.baseline whose findings are suppressed.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report here instead of stdout.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip paths (or path components) matching this glob, e.g. '.venv' (repeatable).")
@common_options
def scan(
    paths: tuple[str, ...], fmt: str, show_values: bool, baseline: Path | None,
    output: Path | None, exclude: tuple[str, ...], known_files: tuple[Path, ...],
    known_envs: tuple[str, ...],
    disabled: tuple[str, ...], max_line_length: int, backend: str,
) -> None:
    """Scan files and directories for secrets."""
    from scanners import report
    from scanners.artifacts import scan_paths
    from scanners.baseline import Baseline

    try:
        engine = build_engine(known_files, known_envs, disabled, backend)
        suppress = Baseline.load(baseline) if baseline is not None else None
    except ScannerError as exc:
        _fail(exc)
    result = scan_paths(engine, list(paths), max_line_length=max_line_length, exclude=exclude)
    findings = suppress.filter(result.findings) if suppress else result.findings
    for skipped in result.skipped:
        where = f"{skipped.path}:{skipped.line}" if skipped.line else skipped.path
        click.echo(f"sluice: skipped {where}: {skipped.reason}", err=True)
    try:
        out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        _fail(ConfigError(f"--output {output}: {exc.strerror}"))
    try:
        if fmt == "jsonl":
            report.jsonl(findings, out, show_values=show_values)
        else:
            report.table(findings, out, show_values=show_values)
    finally:
        if out is not sys.stdout:
            out.close()
    sys.exit(1 if findings else 0)
