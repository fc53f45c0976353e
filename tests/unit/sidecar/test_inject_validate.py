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

KUBE_VERSIONS = ["1.29", "1.33"]  # native sidecars are on by default from 1.29

REALISTIC_POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "generateName": "shop-7d9c6b5f4-",
        "namespace": "preview-1234",
        "labels": {"app": "shop", "sluice.dev/inject": "true", "pod-template-hash": "7d9c6b5f4"},
        "annotations": {"kubectl.kubernetes.io/default-container": "web"},
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-7d9c6b5f4",
             "uid": "0b5e5a3c-1111-4a4a-9e9e-000000000001", "controller": True,
             "blockOwnerDeletion": True},
        ],
    },
    "spec": {
        "serviceAccountName": "shop",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [
            {"name": "migrate", "image": "registry.example/shop:abc123",
             "args": ["migrate", "--up"], "resources": {"limits": {"memory": "128Mi"}}},
        ],
        "containers": [
            {
                "name": "web",
                "image": "registry.example/shop:abc123",
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "env": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "STRIPE_KEY",
                     "valueFrom": {"secretKeyRef": {"name": "stripe", "key": "key"}}},
                ],
                "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                              "limits": {"memory": "512Mi"}},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/shop", "readOnly": True},
                                 {"name": "tmp", "mountPath": "/tmp"}],
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
            },
            {"name": "metrics", "image": "registry.example/exporter:1.2",
             "ports": [{"containerPort": 9100}]},
        ],
        "volumes": [
            {"name": "config", "configMap": {"name": "shop-config"}},
            {"name": "tmp", "emptyDir": {}},
        ],
    },
}  # fmt: skip


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
