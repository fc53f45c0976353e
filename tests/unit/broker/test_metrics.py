"""Broker metrics: names, labels from fixed sets, parsable exposition on a private registry."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from broker.metrics import BrokerMetrics, exposition


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = exposition(registry)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def make() -> tuple[CollectorRegistry, BrokerMetrics]:
    registry = CollectorRegistry()
    return registry, BrokerMetrics(registry, ["cluster-a", "github"])


def test_exposition_parses_and_names_follow_conventions() -> None:
    """All six metrics are exposed, parsable, with Prometheus-style names."""
    registry, metrics = make()
    metrics.exchange("cluster-a", "allowed", "ok", 0.004)
    metrics.vault_request("create_token", 0.002)
    metrics.sessions_active.inc()
    metrics.revocation("session_end")
    metrics.jwks_refresh("github", "ok")
    body, content_type = exposition(registry)
    assert content_type.startswith("text/plain")
    families = {f.name: f.type for f in text_string_to_metric_families(body.decode())}
    assert families["sluice_exchanges"] == "counter"
    assert families["sluice_exchange_duration_seconds"] == "histogram"
    assert families["sluice_vault_request_duration_seconds"] == "histogram"
    assert families["sluice_sessions_active"] == "gauge"
    assert families["sluice_revocations"] == "counter"
    assert families["sluice_jwks_refreshes"] == "counter"
    got = samples(registry)
    key = (("issuer", "cluster-a"), ("reason", "ok"), ("result", "allowed"))
    assert got[("sluice_exchanges_total", key)] == 1.0
    assert got[("sluice_exchange_duration_seconds_bucket", (("le", "0.005"),))] == 1.0
    assert got[("sluice_exchange_duration_seconds_bucket", (("le", "0.0025"),))] == 0.0
    assert got[("sluice_sessions_active", ())] == 1.0


def test_unknown_label_values_are_normalised() -> None:
    """A subject, token or unexpected code never becomes a label value."""
    registry, metrics = make()
    hostile = "system:serviceaccount:ns:eyJhbGciOi.secret"
    metrics.exchange(hostile, "maybe", hostile, 0.01)
    metrics.exchange("https://token.actions.githubusercontent.com", "denied", "expired_token", 0.0)
    metrics.vault_request("sys/raw/" + hostile, 0.1)
    metrics.revocation(hostile)
    metrics.jwks_refresh(hostile, hostile)
    body, _ = exposition(registry)
    assert hostile not in body.decode() and "githubusercontent" not in body.decode()
    got = samples(registry)
    other = (("issuer", "unknown"), ("reason", "other"), ("result", "other"))
    assert got[("sluice_exchanges_total", other)] == 1.0
    denied = (("issuer", "unknown"), ("reason", "expired_token"), ("result", "denied"))
    assert got[("sluice_exchanges_total", denied)] == 1.0
    assert got[("sluice_revocations_total", (("cause", "other"),))] == 1.0
    assert got[("sluice_jwks_refreshes_total", (("issuer", "unknown"), ("result", "other")))] == 1.0
    assert got[("sluice_vault_request_duration_seconds_count", (("operation", "other"),))] == 1.0


def test_extra_reasons_can_be_declared() -> None:
    """Reason codes added by later features are accepted once declared."""
    registry = CollectorRegistry()
    metrics = BrokerMetrics(registry, ["k8s"], reasons=["quota_exceeded"])
    metrics.exchange("k8s", "denied", "quota_exceeded", 0.0)
    key = (("issuer", "k8s"), ("reason", "quota_exceeded"), ("result", "denied"))
    assert samples(registry)[("sluice_exchanges_total", key)] == 1.0


@pytest.mark.parametrize("names", [["a b"], [""], ["x" * 65], [f"i{n}" for n in range(65)]])
def test_issuer_names_must_be_label_safe(names: list[str]) -> None:
    """Issuer names are configuration, checked to be short and label-safe."""
    with pytest.raises(ValueError):
        BrokerMetrics(CollectorRegistry(), names)


def test_registries_are_independent_and_not_global() -> None:
    """Two apps in one process keep separate metrics; the global registry is untouched."""
    first, m1 = make()
    second, _ = make()
    m1.revocation("reaper")
    assert samples(first)[("sluice_revocations_total", (("cause", "reaper"),))] == 1.0
    assert not any(name == "sluice_revocations_total" for name, _ in samples(second))
    assert REGISTRY.get_sample_value("sluice_revocations_total", {"cause": "reaper"}) is None


def test_openmetrics_negotiation() -> None:
    """A scraper asking for OpenMetrics gets it."""
    registry, metrics = make()
    metrics.revocation("expired")
    body, content_type = exposition(registry, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")
