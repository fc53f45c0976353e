from __future__ import annotations

import helm_python
import pytest

from tests.charts.conftest import CHART, render


def test_chart_lints_without_errors() -> None:
    """`helm lint` finds no errors in the chart with its default values."""
    result = helm_python.lint(str(CHART), strict=False)
    assert result["errors"] == []


def test_values_schema_rejects_a_bad_replica_count() -> None:
    """values.schema.json stops a nonsensical value before anything renders."""
    with pytest.raises(helm_python.HelmError):
        render({"broker": {"replicas": 0}})


def test_default_render_is_schema_valid_and_complete() -> None:
    """Defaults render to valid manifests: config, deployment, service, PDB, SA, policy."""
    kinds = {kind for kind, _ in render()}
    assert kinds == {
        "ConfigMap", "Deployment", "Service", "PodDisruptionBudget",
        "ServiceAccount", "NetworkPolicy",
    }
