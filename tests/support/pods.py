"""A realistic Deployment-made pod, as the API server sends it to the injection webhook."""

from __future__ import annotations

from typing import Any

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
