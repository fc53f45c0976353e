from __future__ import annotations

import pytest

from scanners.engine import Engine
from tests.unit.scanners.ruleset import RULES


@pytest.fixture(params=["hyperscan", "python"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every engine test runs on both the compiled prefilter and the pure-Python fallback."""
    return str(request.param)


@pytest.fixture
def engine(backend: str) -> Engine:
    return Engine(RULES, backend=backend)
