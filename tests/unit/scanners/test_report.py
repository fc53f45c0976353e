from __future__ import annotations

import io
import json

from scanners import report
from scanners.findings import Finding, SecretValue, fingerprint

SECRET = "ghp_R3xT9qLm2VbN8cZk4WjH7pD1sF6gY0aE5uKi"


def finding(line: int = 3) -> Finding:
    return Finding(file="src/app.py", line=line, start=8, end=48, rule="github-pat", value=SecretValue(SECRET))


def test_jsonl_has_the_documented_fields_and_no_value() -> None:
    """One JSON object per finding: file, line, start, end, rule, fingerprint; value on request."""
    out = io.StringIO()
    report.jsonl([finding()], out)
    record = json.loads(out.getvalue())
    assert record == {"file": "src/app.py", "line": 3, "start": 8, "end": 48, "rule": "github-pat",
                      "fingerprint": fingerprint(SECRET)}
    shown = io.StringIO()
    report.jsonl([finding()], shown, show_values=True)
    assert json.loads(shown.getvalue())["value"] == SECRET


def test_table_is_readable_and_hides_values() -> None:
    """The table shows file:line:column (1-based column), rule and a short fingerprint."""
    out = io.StringIO()
    report.table([finding(3), finding(9)], out)
    text = out.getvalue()
    assert "src/app.py:3:9" in text and "github-pat" in text
    assert SECRET not in text
    assert "2 finding(s) in 1 file(s)." in text


def test_fingerprints_are_keyed_and_values_never_printed() -> None:
    """A fingerprint is not the plain SHA-256 of the value; reprs never show the value."""
    import hashlib

    assert fingerprint(SECRET) != hashlib.sha256(SECRET.encode()).hexdigest()[:32]
    assert SECRET not in repr(finding()) and SECRET not in str(finding().value)
