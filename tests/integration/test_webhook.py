"""`sluice sidecar webhook` as a real HTTPS process, called the way the API server calls it."""

from __future__ import annotations

import base64
import copy
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonpatch
import kubernetes_validate
import pytest

from tests.conftest import Proc, free_port, wait_until
from tests.support.pods import REALISTIC_POD
from tests.support.tls import write_tls

pytestmark = [pytest.mark.integration]
CANARY = "sk_live_canary" + "4f0c2a9d7e1b"  # an env value that must never reach the log


class Webhook:
    def __init__(self, proc: Proc, port: int, ca_file: Path) -> None:
        self.proc = proc
        self.port = port
        self.tls = ssl.create_default_context(cafile=str(ca_file))

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        req = urllib.request.Request(
            f"https://127.0.0.1:{self.port}{path}", data=body, method=method
        )
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.tls) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def review(self, obj: Any, **request: Any) -> tuple[int, Any]:
        req = {
            "uid": "b3c2f1a0-0000-4000-8000-000000000001",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "preview-1234",
            "operation": "CREATE",
            "object": obj,
            **request,
        }
        body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}
        return self.call("POST", "/mutate", json.dumps(body).encode())


@pytest.fixture
def webhook(sluice_proc: Callable[..., Proc], short_tmp: Path) -> Iterator[Webhook]:
    ca_file, cert_file, key_file = write_tls(short_tmp)
    config = short_tmp / "webhook.yaml"
    config.write_text(
        "image: ghcr.io/sluice/sluice:0.1.0\n"
        "broker_url: http://rel-sluice-broker.sluice.svc:80\n"
        "audience: sluice\n"
        "resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 64Mi}}\n"
    )
    port = free_port()
    proc = sluice_proc(
        "sidecar", "webhook", "--config", str(config),
        "--tls-cert-file", str(cert_file), "--tls-key-file", str(key_file),
        "--port", str(port), "--max-body-bytes", "65536",
    )  # fmt: skip
    hook = Webhook(proc, port, ca_file)

    def healthy() -> bool:
        assert proc.popen.poll() is None, proc.output()
        return hook.call("GET", "/healthz")[0] == 200

    wait_until(healthy, "webhook health")
    yield hook
    assert proc.stop() == 0


def leaky_pod() -> dict[str, Any]:
    pod = copy.deepcopy(REALISTIC_POD)
    pod["spec"]["containers"][1]["env"] = [{"name": "STRIPE", "value": CANARY}]
    return pod


def test_opted_in_pod_gets_a_patch_that_applies_and_validates(webhook: Webhook) -> None:
    """Over verified TLS, an opted-in pod's answer carries a JSONPatch; applied, the pod is
    schema-valid and has the sidecar. The log names the pod and decision, not its spec."""
    pod = leaky_pod()
    status, body = webhook.review(copy.deepcopy(pod))
    assert status == 200 and body["kind"] == "AdmissionReview"
    answer = body["response"]
    assert answer["uid"] == "b3c2f1a0-0000-4000-8000-000000000001"
    assert answer["allowed"] is True and answer["patchType"] == "JSONPatch"
    out = jsonpatch.apply_patch(pod, json.loads(base64.b64decode(answer["patch"])))
    kubernetes_validate.validate(out, "1.33", strict=True)
    assert out["spec"]["initContainers"][0]["name"] == "sluice-sidecar"

    status, again = webhook.review(out)
    assert status == 200 and "patch" not in again["response"]  # idempotent over the wire
    webhook.proc.stop()
    log = webhook.proc.output()
    assert "admission injected pod preview-1234/shop-7d9c6b5f4-" in log
    assert "skipped:already_injected" in log
    assert CANARY not in log and "registry.example" not in log


def test_non_pod_is_allowed_without_a_patch(webhook: Webhook) -> None:
    """A Deployment sent by a too-wide rule is allowed as it is."""
    status, body = webhook.review(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop"}},
        kind={"group": "apps", "version": "v1", "kind": "Deployment"},
        resource={"group": "apps", "version": "v1", "resource": "deployments"},
    )
    assert status == 200
    assert body["response"] == {"uid": "b3c2f1a0-0000-4000-8000-000000000001", "allowed": True}


def test_malformed_pod_is_refused_under_the_default_fail_policy(webhook: Webhook) -> None:
    """An opted-in pod whose containers are not a list is refused with a reason, not a crash."""
    pod = {"metadata": {"labels": {"sluice.dev/inject": "true"}}, "spec": {"containers": "x"}}
    status, body = webhook.review(pod)
    assert status == 200
    assert body["response"]["allowed"] is False
    assert "malformed_pod" in body["response"]["status"]["message"]


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "malformed_review"),
        (b'{"kind": "AdmissionReview"}', 400, "malformed_review"),
        (b'{"pad": "' + b"x" * 70_000 + b'"}', 413, "request_too_large"),
    ],
    ids=["not-json", "not-a-review", "too-large"],
)
def test_bad_bodies_get_stable_json_errors(
    webhook: Webhook, raw: bytes, status: int, code: str
) -> None:
    """Garbage and oversized bodies get a JSON error code (the API server then applies its
    failurePolicy), and the webhook keeps serving."""
    got, body = webhook.call("POST", "/mutate", raw)
    assert (got, body["error"]["code"]) == (status, code)
    assert "Traceback" not in json.dumps(body)
    assert webhook.call("GET", "/healthz") == (200, {"status": "ok"})


def _listeners(port: int) -> list[str]:
    """Local addresses listening on ``port``, from /proc/net/tcp and tcp6 (hex, as the kernel
    writes them)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.append(address)
    return found


def test_listens_on_loopback_only_by_default(webhook: Webhook) -> None:
    """Without --host the webhook binds 127.0.0.1 and nothing else."""
    assert _listeners(webhook.port) == ["0100007F"]  # 127.0.0.1, little-endian hex


def test_plain_http_is_not_served(webhook: Webhook) -> None:
    """The listener speaks TLS only: a plain-HTTP request gets no admission answer."""
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{webhook.port}/healthz", timeout=5)
