"""The injected pod is a valid Pod for the Kubernetes API (schemas from kubernetes-validate)."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import jsonpatch
import kubernetes_validate
import pytest

from sidecar.inject import InjectionConfig, respond
from tests.support.pods import REALISTIC_POD

KUBE_VERSIONS = ["1.29", "1.33"]  # native sidecars are on by default from 1.29


def injected(pod: dict[str, Any], config: InjectionConfig) -> dict[str, Any]:
    answer = respond(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "u-1",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "preview-1234",
                "operation": "CREATE",
                "object": copy.deepcopy(pod),
            },
        },
        config,
    ).response["response"]
    ops = json.loads(base64.b64decode(answer["patch"]))
    result: dict[str, Any] = jsonpatch.apply_patch(pod, ops)
    return result


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("native", [True, False], ids=["native-sidecar", "first-container"])
def test_patched_realistic_pod_is_schema_valid(version: str, native: bool) -> None:
    """The realistic pod, patched, passes strict schema validation, with its own fields intact."""
    config = InjectionConfig(
        image="ghcr.io/sluice/sluice:0.1.0",
        broker_url="http://rel-sluice-broker.sluice.svc:80",
        resources={"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
        native_sidecar=native,
    )
    out = injected(REALISTIC_POD, config)
    kubernetes_validate.validate(out, version, strict=True)
    assert out["spec"]["volumes"][:2] == REALISTIC_POD["spec"]["volumes"]
    web = out["spec"]["containers"][1 if not native else 0]
    assert web["env"][:2] == REALISTIC_POD["spec"]["containers"][0]["env"]


def test_a_broken_patch_would_be_caught() -> None:
    """The validator is strict enough to notice a sidecar field of the wrong type."""
    config = InjectionConfig(image="i", broker_url="http://b")
    out = injected(REALISTIC_POD, config)
    out["spec"]["initContainers"][0]["startupProbe"]["failureThreshold"] = "sixty"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(out, "1.33", strict=True)
