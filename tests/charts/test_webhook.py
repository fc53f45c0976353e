"""The sidecar-injection webhook's templates: Deployment, Service, MutatingWebhookConfiguration,
TLS (existing Secret or cert-manager), ServiceAccount, NetworkPolicy, PDB and its config."""

from __future__ import annotations

import base64
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from tests.charts.conftest import CHART, KUBE_VERSION, Manifests

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
EXISTING: dict[str, Any] = {
    "webhook": {
        "enabled": True,
        "tls": {
            "existingSecret": "sluice-webhook-tls",
            "caBundle": base64.b64encode(CA_PEM).decode(),
        },
    }
}
CERT_MANAGER: dict[str, Any] = {
    "webhook": {"enabled": True, "tls": {"certManager": {"enabled": True}}}
}
CERT_MANAGER_KINDS = {"Certificate", "Issuer"}  # no schema in kubernetes-validate: checked here


def render(values: dict[str, Any]) -> Manifests:
    """Render, validate every core manifest strictly, shape-check cert-manager's."""
    with helm_python.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name="rel", namespace="sluice")
    out: Manifests = {}
    for path, text in files.items():
        for doc in yaml.safe_load_all(text) if path.endswith(".yaml") else []:
            if not doc:
                continue
            if doc["kind"] in CERT_MANAGER_KINDS:
                assert doc["apiVersion"] == "cert-manager.io/v1" and doc["spec"]
            else:
                kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


def _webhook_kinds(manifests: Manifests) -> set[str]:
    return {kind for kind, name in manifests if "webhook" in name}


def _mwc(manifests: Manifests) -> dict[str, Any]:
    (doc,) = [d for (kind, _), d in manifests.items() if kind == "MutatingWebhookConfiguration"]
    return doc


def _pod(manifests: Manifests) -> dict[str, Any]:
    spec: dict[str, Any] = manifests[("Deployment", "rel-sluice-webhook")]["spec"]["template"][
        "spec"
    ]
    return spec


def test_webhook_is_off_by_default_and_broker_templates_are_unchanged() -> None:
    """Without webhook.enabled nothing of the webhook renders (it would need TLS first)."""
    manifests = render({})
    assert _webhook_kinds(manifests) == set()
    assert ("Deployment", "rel-sluice-broker") in manifests


def test_existing_secret_renders_every_webhook_manifest_valid() -> None:
    """With an existing Secret + CA bundle: Deployment, Service, MWC, SA, ConfigMap, PDB and
    NetworkPolicy, all schema-valid (MutatingWebhookConfiguration included)."""
    manifests = render(EXISTING)
    assert _webhook_kinds(manifests) == {
        "Deployment", "Service", "MutatingWebhookConfiguration", "ServiceAccount",
        "ConfigMap", "PodDisruptionBudget", "NetworkPolicy",
    }  # fmt: skip
    assert ("Deployment", "rel-sluice-broker") in manifests
    volumes = {v["name"]: v for v in _pod(manifests)["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "sluice-webhook-tls"
    assert volumes["tls"]["secret"]["defaultMode"] == 0o400


def test_mutating_webhook_configuration_targets_the_service_safely() -> None:
    """One v1-only, side-effect-free webhook on Pod CREATE, calling the chart's Service at
    /mutate with the CA bundle, failurePolicy and timeout from values."""
    values = {"webhook": {**EXISTING["webhook"], "failurePolicy": "Ignore", "timeoutSeconds": 3}}
    manifests = render(values)
    (hook,) = _mwc(manifests)["webhooks"]
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["sideEffects"] == "None"
    assert (hook["failurePolicy"], hook["timeoutSeconds"]) == ("Ignore", 3)
    assert hook["rules"] == [
        {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
         "resources": ["pods"], "scope": "Namespaced"}
    ]  # fmt: skip
    service = hook["clientConfig"]["service"]
    assert (service["name"], service["namespace"], service["path"]) == (
        "rel-sluice-webhook", "sluice", "/mutate",
    )  # fmt: skip
    svc = manifests[("Service", "rel-sluice-webhook")]["spec"]
    assert svc["ports"][0]["port"] == service["port"] == 443
    assert svc["ports"][0]["targetPort"] == _pod(manifests)["containers"][0]["ports"][0]["name"]
    assert base64.b64decode(hook["clientConfig"]["caBundle"]) == CA_PEM
    assert hook["objectSelector"] == {"matchLabels": {"sluice.dev/inject": "true"}}
    assert "kube-system" in hook["namespaceSelector"]["matchExpressions"][0]["values"]


def test_cert_manager_issues_the_certificate_and_injects_the_ca() -> None:
    """cert-manager mode: a Certificate for the Service's DNS names into the Secret the pods
    mount, a self-signed Issuer, and the cainjector annotation instead of a caBundle."""
    manifests = render(CERT_MANAGER)
    cert = manifests[("Certificate", "rel-sluice-webhook")]["spec"]
    assert "rel-sluice-webhook.sluice.svc" in cert["dnsNames"]
    assert cert["issuerRef"] == {"name": "rel-sluice-webhook-selfsigned", "kind": "Issuer"}
    assert manifests[("Issuer", "rel-sluice-webhook-selfsigned")]["spec"] == {"selfSigned": {}}
    volumes = {v["name"]: v for v in _pod(manifests)["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == cert["secretName"]
    mwc = _mwc(manifests)
    assert mwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == (
        "sluice/rel-sluice-webhook"
    )
    assert "caBundle" not in mwc["webhooks"][0]["clientConfig"]


def test_cert_manager_with_own_issuer_creates_no_issuer() -> None:
    """A given issuerRef (e.g. a cluster CA) is used as is; no self-signed Issuer renders."""
    ref = {"name": "corp-ca", "kind": "ClusterIssuer"}
    values = {
        "webhook": {"enabled": True, "tls": {"certManager": {"enabled": True, "issuerRef": ref}}}
    }
    manifests = render(values)
    assert manifests[("Certificate", "rel-sluice-webhook")]["spec"]["issuerRef"] == ref
    assert not any(kind == "Issuer" for kind, _ in manifests)


@pytest.mark.parametrize(
    ("tls", "message"),
    [
        ({}, "webhook.enabled needs TLS"),
        ({"existingSecret": "s"}, "needs webhook.tls.caBundle"),
        ({"existingSecret": "s", "caBundle": "Zm9v", "certManager": {"enabled": True}}, "not both"),
    ],
    ids=["none", "secret-without-ca", "both"],
)
def test_render_fails_clearly_without_exactly_one_tls_source(
    tls: dict[str, Any], message: str
) -> None:
    """An enabled webhook without usable TLS fails the render with a message naming the fix."""
    with pytest.raises(helm_python.HelmError, match=message):
        render({"webhook": {"enabled": True, "tls": tls}})


def test_webhook_pods_run_ha_locked_down_and_bind_all_interfaces_explicitly() -> None:
    """Two replicas spread over nodes with a PDB; non-root, read-only, no caps; the listener
    is told --host=0.0.0.0 (its default is loopback); probes speak HTTPS."""
    manifests = render(EXISTING)
    dep = manifests[("Deployment", "rel-sluice-webhook")]
    assert dep["spec"]["replicas"] == 2
    assert manifests[("PodDisruptionBudget", "rel-sluice-webhook")]["spec"]["minAvailable"] == 1
    pod = _pod(manifests)
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "rel-sluice-webhook"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert container["args"][:2] == ["sidecar", "webhook"]
    assert "--host=0.0.0.0" in container["args"] and "--port=8443" in container["args"]
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert all(m["readOnly"] for m in container["volumeMounts"] if m["name"] in {"tls", "config"})


@pytest.mark.parametrize(
    "webhook",
    [{"replicas": 1}, {"podDisruptionBudget": {"enabled": False, "minAvailable": 1}}],
    ids=["one-replica", "disabled"],
)
def test_pdb_is_optional(webhook: dict[str, Any]) -> None:
    """One replica, or the PDB switched off: no PDB that would block node drains."""
    manifests = render({"webhook": {**EXISTING["webhook"], **webhook}})
    assert ("PodDisruptionBudget", "rel-sluice-webhook") not in manifests


def test_network_policy_admits_the_webhook_port_only_and_no_egress() -> None:
    """Ingress on the webhook port alone; no egress at all (the webhook calls nothing)."""
    values = {"webhook": {**EXISTING["webhook"], "port": 9443}}
    manifests = render(values)
    spec = manifests[("NetworkPolicy", "rel-sluice-webhook")]["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [{"ports": [{"protocol": "TCP", "port": 9443}]}]
    assert spec["egress"] == []
    assert _pod(manifests)["containers"][0]["ports"][0]["containerPort"] == 9443
    off = render({**values, "networkPolicy": {"enabled": False}})
    assert ("NetworkPolicy", "rel-sluice-webhook") not in off


def test_rendered_config_is_accepted_by_the_webhook_and_matches_the_chart() -> None:
    """The ConfigMap is a config `sluice sidecar webhook` loads: the chart's image, its broker
    Service, and the same failure policy as the MutatingWebhookConfiguration."""
    from sidecar.webhook import load_config

    values = {"webhook": {**EXISTING["webhook"], "failurePolicy": "Ignore",
                          "inject": {"audience": "previews", "tokenExpirationSeconds": 1200}}}  # fmt: skip
    manifests = render(values)
    text = manifests[("ConfigMap", "rel-sluice-webhook")]["data"]["webhook.yaml"]
    config = load_config(yaml.safe_load(text))
    assert config.image == "ghcr.io/sluice/sluice:0.1.0"
    assert config.broker_url == "http://rel-sluice-broker.sluice.svc:80"
    assert (config.audience, config.token_expiration_s) == ("previews", 1200)
    assert config.failure_policy == _mwc(manifests)["webhooks"][0]["failurePolicy"] == "Ignore"


def test_config_change_rolls_the_webhook_pods() -> None:
    """Changing what is injected changes the pod template, so the webhook restarts with it."""

    def checksum(values: dict[str, Any]) -> str:
        dep = render(values)[("Deployment", "rel-sluice-webhook")]
        return str(dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    other = {"webhook": {**EXISTING["webhook"], "inject": {"audience": "other"}}}
    assert checksum(EXISTING) != checksum(other)


@pytest.mark.parametrize(
    "values", [EXISTING, CERT_MANAGER], ids=["existing-secret", "cert-manager"]
)
def test_chart_with_webhook_lints_clean(values: dict[str, Any]) -> None:
    """`helm lint` finds no errors with the webhook enabled either way."""
    assert helm_python.lint(str(CHART), values, strict=False)["errors"] == []


@pytest.mark.parametrize(
    ("webhook", "field"),
    [
        ({"failurePolicy": "Sometimes"}, "failurePolicy"),
        ({"inject": {"tokenExpirationSeconds": 60}}, "tokenExpirationSeconds"),
        ({"inject": {"runAsUser": 0}}, "runAsUser"),
        ({"timeoutSeconds": 60}, "timeoutSeconds"),
    ],
    ids=["failure-policy", "short-token", "root", "timeout"],
)
def test_values_schema_rejects_unusable_webhook_settings(
    webhook: dict[str, Any], field: str
) -> None:
    """Values the API server or kubelet would refuse later (a projected token under 600 s, a
    webhook timeout over 30 s) or that break the sidecar's guarantees (uid 0) stop the render."""
    with pytest.raises(helm_python.HelmError, match=field):
        render({"webhook": {**EXISTING["webhook"], **webhook}})
