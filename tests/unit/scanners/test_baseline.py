from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from scanners.baseline import Baseline
from scanners.errors import BaselineError
from scanners.findings import Finding, SecretValue


def finding(file: str, line: int, value: str) -> Finding:
    return Finding(file=file, line=line, start=0, end=len(value), rule="r", value=SecretValue(value))


def write_baseline(tmp_path: Path, results: object) -> Path:
    path = tmp_path / ".secrets.baseline"
    path.write_text(json.dumps({"version": "1.5.0", "plugins_used": [], "results": results}))
    return path


def test_suppresses_only_same_file_line_and_secret(tmp_path: Path) -> None:
    """A finding is suppressed when file, line and SHA-1 of the secret all match."""
    sha = hashlib.sha1(b"s3cr3t-value-1").hexdigest()
    path = write_baseline(
        tmp_path,
        {"conf/app.env": [{"type": "Secret Keyword", "filename": "conf/app.env",
                           "hashed_secret": sha, "is_verified": False, "line_number": 3}]},
    )
    base = Baseline.load(path)
    assert base.suppresses(finding("conf/app.env", 3, "s3cr3t-value-1"))
    assert base.suppresses(finding("./conf/app.env", 3, "s3cr3t-value-1"))
    assert not base.suppresses(finding("conf/app.env", 4, "s3cr3t-value-1"))
    assert not base.suppresses(finding("conf/app.env", 3, "s3cr3t-value-2"))
    assert not base.suppresses(finding("conf/other.env", 3, "s3cr3t-value-1"))


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps({"results": []}), json.dumps({"results": {"f": [{"type": "x"}]}})],
)
def test_malformed_baselines_are_config_errors(tmp_path: Path, content: str) -> None:
    """A broken baseline is a clear typed error, not a crash."""
    path = tmp_path / "b"
    path.write_text(content)
    with pytest.raises(BaselineError) as info:
        Baseline.load(path)
    assert info.value.exit_code == 2


def test_missing_baseline(tmp_path: Path) -> None:
    """A missing baseline file names the path."""
    with pytest.raises(BaselineError, match="cannot read"):
        Baseline.load(tmp_path / "missing")
