"""Render the chart with the real Helm library and validate every manifest against the
Kubernetes schemas shipped with kubernetes-validate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "sluice"
KUBE_VERSION = "1.33"

Manifests = dict[tuple[str, str], dict[str, Any]]


def render(values: dict[str, Any] | None = None) -> Manifests:
    """Render, validate strictly, and index manifests by (kind, name)."""
    with helm_python.Chart.load(str(CHART)) as chart:
        files = chart.render(values or {}, name="rel", namespace="sluice")
    out: Manifests = {}
    for path, text in files.items():
        if not path.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(text):
            if not doc:
                continue
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


@pytest.fixture(scope="session")
def rendered() -> Callable[[dict[str, Any] | None], Manifests]:
    return render
