from __future__ import annotations

from pathlib import Path

import pytest

from scanners.engine import Engine
from tests.unit.scanners.ruleset import GH_TOKEN, RULES


def test_compiled_database_is_cached_and_corruption_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hyperscan database is written once, reused, and rebuilt if the file is damaged."""
    monkeypatch.setenv("SLUICE_CACHE_DIR", str(tmp_path))
    Engine(RULES, backend="hyperscan")
    files = sorted(tmp_path.glob("hs-*.db"))
    assert files
    for path in files:
        path.write_bytes(b"garbage")
    engine = Engine(RULES, backend="hyperscan")
    assert [s.rule for s in engine.find(f"x {GH_TOKEN}\n")] == ["test-github-pat"]
    assert all(p.read_bytes() != b"garbage" for p in files)
