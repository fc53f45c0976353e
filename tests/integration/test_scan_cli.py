"""`sluice scan PATH...` over a real directory tree: reports, exit codes, skips, baselines."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.scanners.samples import aws_key_id, github_pat, slack_webhook

_SCRIPT = Path(sys.executable).parent / "sluice"
SLUICE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "sluice_cli"]


def scan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SLUICE, "scan", *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    values = {"token": github_pat(), "key_id": aws_key_id(), "hook": slack_webhook()}
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "src" / "settings.py").write_text(
        "DEBUG = False\n"
        f"GITHUB_TOKEN = \"{values['token']}\"\n"
        "# example: AKIAIOSFODNN7EXAMPLE\n"
        f"AWS_ACCESS_KEY_ID = '{values['key_id']}'\n"
    )
    (tmp_path / "ci.log").write_text(f"step 1 ok\nnotify {values['hook']} done\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0" + values["token"].encode())
    (tmp_path / "bundle.min.js").write_text("var a=1;" * 400 + values["token"] + "\nok\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(f"token = {values['token']}\n")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    return tmp_path, values


def test_jsonl_reports_each_secret_with_exact_position(tree: tuple[Path, dict[str, str]]) -> None:
    """Each finding names file, 1-based line, 0-based end-exclusive columns, rule, fingerprint."""
    root, values = tree
    result = scan("--format", "jsonl", "--max-line-length", "1000", ".", cwd=root)
    assert result.returncode == 1, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    where = {(r["file"], r["line"], r["rule"]) for r in records}
    assert where == {
        ("./src/settings.py", 2, "github-personal-access-token"),
        ("./src/settings.py", 4, "aws-access-key-id"),
        ("./ci.log", 2, "slack-webhook-url"),
    }
    for r in records:
        line = (root / r["file"]).read_text().splitlines()[r["line"] - 1]
        assert line[r["start"] : r["end"]] in values.values()
        assert len(r["fingerprint"]) == 32 and "value" not in r
    assert all(v not in result.stdout for v in values.values())


def test_skips_are_reported_not_fatal(tree: tuple[Path, dict[str, str]]) -> None:
    """Binary files, dangling links and over-long lines are reported on stderr and skipped."""
    root, _ = tree
    result = scan("--format", "jsonl", "--max-line-length", "1000", ".", cwd=root)
    assert "image.png: binary file" in result.stderr
    assert "dangling: broken symlink" in result.stderr
    assert "bundle.min.js:1: line longer than 1000 characters" in result.stderr
    assert ".git" not in result.stdout


def test_show_values_and_table(tree: tuple[Path, dict[str, str]]) -> None:
    """The table is for people; values appear only with --show-values."""
    root, values = tree
    plain = scan("src", cwd=root)
    assert "src/settings.py:2:" in plain.stdout and "github-personal-access-token" in plain.stdout
    assert values["token"] not in plain.stdout
    shown = scan("--show-values", "src", cwd=root)
    assert values["token"] in shown.stdout


def test_exit_codes(tree: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """0 when clean, 1 with findings, 2 for usage and configuration errors."""
    root, _ = tree
    assert scan("src/clean.py", cwd=root).returncode == 0
    assert scan("src", cwd=root).returncode == 1
    assert scan("does-not-exist", cwd=root).returncode == 2
    assert scan("--format", "xml", "src", cwd=root).returncode == 2
    assert scan("--disable-rule", "no-such-rule", "src", cwd=root).returncode == 2
    bad = tmp_path / "bad.baseline"
    bad.write_text("{")
    broken = scan("--baseline", str(bad), "src", cwd=root)
    assert broken.returncode == 2 and "not JSON" in broken.stderr


def test_baseline_suppresses_known_findings(tree: tuple[Path, dict[str, str]]) -> None:
    """Findings recorded in a detect-secrets baseline (file, line, SHA-1) are not reported."""
    root, values = tree
    entry = {"type": "GitHub Token", "filename": "src/settings.py", "is_verified": False,
             "line_number": 2, "hashed_secret": hashlib.sha1(values["token"].encode()).hexdigest()}
    (root / ".secrets.baseline").write_text(
        json.dumps({"version": "1.5.0", "results": {"src/settings.py": [entry]}})
    )
    result = scan("--format", "jsonl", "--baseline", ".secrets.baseline", "src", cwd=root)
    rules = [json.loads(line)["rule"] for line in result.stdout.splitlines()]
    assert rules == ["aws-access-key-id"]
    assert result.returncode == 1


def test_disable_rule(tree: tuple[Path, dict[str, str]]) -> None:
    """A disabled rule no longer reports."""
    root, _ = tree
    result = scan("--format", "jsonl", "--disable-rule", "slack-webhook-url", "ci.log", cwd=root)
    assert (result.returncode, result.stdout) == (0, "")


def test_pure_python_engine_reports_the_same(tree: tuple[Path, dict[str, str]]) -> None:
    """With the compiled prefilter switched off, the same findings come out."""
    root, _ = tree

    def records(engine: str) -> list[tuple[str, int, int, int, str]]:
        result = scan("--format", "jsonl", "--engine", engine, "src", "ci.log", cwd=root)
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        return sorted((r["file"], r["line"], r["start"], r["end"], r["rule"]) for r in rows)

    assert records("python") == records("hyperscan") != []


def test_exclude_globs(tree: tuple[Path, dict[str, str]]) -> None:
    """Excluded paths are not scanned (by file name or directory component)."""
    root, _ = tree
    result = scan("--format", "jsonl", "--exclude", "*.log", "--exclude", "src", "--exclude", "*.js",
                  ".", cwd=root)
    assert (result.returncode, result.stdout) == (0, "")
