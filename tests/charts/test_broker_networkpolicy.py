from __future__ import annotations

from tests.charts.conftest import render


def _policy(values: dict | None = None) -> dict:
    return render(values)[("NetworkPolicy", "rel-sluice-broker")]


def test_only_labelled_client_pods_reach_the_broker() -> None:
    """Ingress admits only pods carrying the injection label, on the broker port."""
    spec = _policy()["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    (rule,) = spec["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"sluice.dev/inject": "true"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]


def test_egress_is_dns_plus_configured_targets_only() -> None:
    """Egress: DNS and OpenBao's namespace by default, nothing else."""
    egress = _policy()["spec"]["egress"]
    assert egress[0]["ports"][0]["port"] == 53
    assert egress[1]["ports"] == [{"protocol": "TCP", "port": 8200}]
    assert len(egress) == 2


def test_network_policy_can_be_disabled() -> None:
    """Clusters with their own policy engine can switch it off."""
    assert ("NetworkPolicy", "rel-sluice-broker") not in render({"networkPolicy": {"enabled": False}})
