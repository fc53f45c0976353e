from __future__ import annotations

import helm_python
import pytest
import yaml

from tests.charts.conftest import render


def _deployment(values: dict | None = None) -> dict:
    return render(values)[("Deployment", "rel-sluice-broker")]


def test_broker_runs_highly_available_by_default() -> None:
    """Two replicas spread across nodes, guarded by a PodDisruptionBudget."""
    manifests = render()
    dep = manifests[("Deployment", "rel-sluice-broker")]
    assert dep["spec"]["replicas"] == 2
    anti = dep["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"][
        "topologyKey"
    ] == "kubernetes.io/hostname"
    assert manifests[("PodDisruptionBudget", "rel-sluice-broker")]["spec"]["minAvailable"] == 1


def test_sqlite_store_with_several_replicas_is_refused() -> None:
    """SQLite cannot be shared: rendering fails with a message naming the fix."""
    values = {"broker": {"config": {"store": {"dsn": None, "sqlite_path": "/var/lib/sluice/s.db"}}}}
    with pytest.raises(helm_python.HelmError, match="shared PostgreSQL store"):
        render(values)


def test_single_replica_sqlite_has_no_pdb() -> None:
    """One replica on SQLite renders, without a PDB that would block node drains."""
    manifests = render(
        {"broker": {"replicas": 1, "storePassfileSecret": "",
                    "config": {"store": {"dsn": None, "sqlite_path": "/var/lib/sluice/s.db"}}}}
    )
    assert ("PodDisruptionBudget", "rel-sluice-broker") not in manifests
    env = manifests[("Deployment", "rel-sluice-broker")]["spec"]["template"]["spec"][
        "containers"][0].get("env", [])
    assert all(e["name"] != "PGPASSFILE" for e in env)


def test_secrets_are_mounted_read_only_0400_never_in_env_or_config() -> None:
    """The OpenBao token and DB passfile arrive as 0400 read-only files, not env or config."""
    dep = _deployment()
    pod = dep["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for name in ("vault-token", "pgpass"):
        assert volumes[name]["secret"]["defaultMode"] == 0o400
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["vault-token"]["readOnly"] and mounts["pgpass"]["readOnly"]
    env_values = [e.get("value", "") for e in pod["containers"][0].get("env", [])]
    assert not any("token" in v.lower() and "/" not in v for v in env_values)
    config = yaml.safe_load(render()[("ConfigMap", "rel-sluice-broker")]["data"]["broker.yaml"])
    assert config["vault"]["token_file"] == "/var/run/sluice/vault/token"
    userinfo = config["store"]["dsn"].split("//")[1].split("@")[0]
    assert ":" not in userinfo  # no password in the DSN: libpq reads the passfile


def test_container_is_locked_down() -> None:
    """Non-root, read-only root filesystem, no capabilities, no privilege escalation."""
    pod = _deployment()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    sc = pod["containers"][0]["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]


def test_config_change_rolls_the_pods() -> None:
    """A config change changes the pod template (checksum annotation), so pods restart."""
    a = _deployment()["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    b = _deployment({"broker": {"config": {"audit": {"path": "/var/lib/sluice/other.jsonl"}}}})["spec"]["template"][
        "metadata"]["annotations"]["checksum/config"]
    assert a != b


def test_rendered_config_is_accepted_by_the_broker(tmp_path) -> None:
    """The ConfigMap the chart ships is a broker.yaml the broker's own loader accepts."""
    from broker.settings import load

    text = render()[("ConfigMap", "rel-sluice-broker")]["data"]["broker.yaml"]
    path = tmp_path / "broker.yaml"
    path.write_text(text)
    settings = load(path, env={})
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.vault.token_file.as_posix() == "/var/run/sluice/vault/token"
    assert settings.store_dsn == "postgresql://sluice@postgresql.sluice.svc:5432/sluice"
    assert [rule.name for rule in settings.rules] == ["previews"]


def test_port_flows_to_container_and_network_policy() -> None:
    """Changing the listen port changes the container port and the policy's allowed port."""
    manifests = render({"broker": {"config": {"listen": {"host": "0.0.0.0", "port": 9443}}}})
    container = manifests[("Deployment", "rel-sluice-broker")]["spec"]["template"]["spec"][
        "containers"][0]
    assert container["ports"][0]["containerPort"] == 9443
    ingress = manifests[("NetworkPolicy", "rel-sluice-broker")]["spec"]["ingress"][0]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 9443}]
