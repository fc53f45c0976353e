"""Sidecar injection decisions: which pods change, how, and what an AdmissionReview gets back."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import jsonpatch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.errors import InjectError, MalformedReview
from sidecar.inject import INJECTED_KEY, SIDECAR_NAME, InjectionConfig, respond

CONFIG = InjectionConfig(
    image="ghcr.io/sluice/sluice:0.1.0",
    broker_url="http://rel-sluice-broker.sluice.svc:80",
    audience="sluice",
    token_expiration_s=900,
    resources={"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
)
SOCKET = "/var/run/sluice/sidecar/sluice.sock"


def pod(**spec: Any) -> dict[str, Any]:
    """A preview pod that opts in by label, with one app container unless told otherwise."""
    base: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "web-", "labels": {"sluice.dev/inject": "true"}},
        "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
    }
    base["spec"].update(spec)
    return base


def review(obj: Any, **request: Any) -> dict[str, Any]:
    req = {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": "preview-42",
        "operation": "CREATE",
        "object": obj,
    }
    req.update(request)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}


def patched(obj: dict[str, Any], config: InjectionConfig = CONFIG) -> dict[str, Any]:
    """Run the review, check the envelope, and apply the patch to the pod."""
    response = respond(review(obj), config).response["response"]
    assert response["allowed"] is True and response["patchType"] == "JSONPatch"
    ops = json.loads(base64.b64decode(response["patch"]))
    result: dict[str, Any] = jsonpatch.apply_patch(obj, ops)
    return result


def sidecar_of(obj: dict[str, Any]) -> dict[str, Any]:
    (found,) = [c for c in obj["spec"].get("initContainers", []) if c["name"] == SIDECAR_NAME]
    return found


def test_plain_pod_gets_native_sidecar_volumes_mounts_and_mark() -> None:
    """A plain opted-in pod gets the sidecar as a native sidecar, both volumes, the socket
    mount and env in its app container, and the injected annotation."""
    out = patched(pod())
    sidecar = sidecar_of(out)
    assert out["spec"]["initContainers"][0] is sidecar
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["image"] == CONFIG.image
    assert sidecar["resources"] == CONFIG.resources
    assert sidecar["args"] == [
        "sidecar", "serve",
        "--broker", CONFIG.broker_url,
        "--identity-token-file", "/var/run/secrets/sluice.dev/identity/token",
        "--socket", SOCKET,
        "--log-level", "INFO",
    ]  # fmt: skip
    probe = sidecar["startupProbe"]["exec"]["command"]
    assert probe == ["sluice", "sidecar", "ready", "--socket", SOCKET]
    sc = sidecar["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    assert sc["runAsUser"] == 65532

    volumes = {v["name"]: v for v in out["spec"]["volumes"]}
    token = volumes["sluice-identity"]["projected"]["sources"][0]["serviceAccountToken"]
    assert token == {"audience": "sluice", "expirationSeconds": 900, "path": "token"}
    assert volumes["sluice-socket"]["emptyDir"]["medium"] == "Memory"
    mounts = {m["name"]: m for m in sidecar["volumeMounts"]}
    assert mounts["sluice-identity"]["readOnly"] is True
    assert mounts["sluice-socket"]["mountPath"] == "/var/run/sluice"

    (app,) = out["spec"]["containers"]
    assert app["volumeMounts"] == [
        {"name": "sluice-socket", "mountPath": "/var/run/sluice", "readOnly": True}
    ]
    assert app["env"] == [{"name": "SLUICE_SOCKET", "value": SOCKET}]
    assert out["metadata"]["annotations"] == {INJECTED_KEY: "true"}


def test_the_app_never_mounts_the_identity_token() -> None:
    """Only the sidecar mounts the projected token; app containers get the socket only."""
    out = patched(pod(containers=[{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]))
    for container in out["spec"]["containers"]:
        assert [m["name"] for m in container["volumeMounts"]] == ["sluice-socket"]


def test_injecting_twice_changes_nothing_the_second_time() -> None:
    """Re-sending the patched pod (reinvocation, a re-created pod) gets no second patch."""
    once = patched(pod())
    decision = respond(review(once), CONFIG)
    assert decision.outcome == "skipped:already_injected"
    assert decision.response["response"] == {"uid": review(once)["request"]["uid"], "allowed": True}


def test_a_pod_with_a_sidecar_added_by_hand_is_left_alone() -> None:
    """A container already named like ours means someone injected it: no second copy."""
    obj = pod(containers=[{"name": SIDECAR_NAME, "image": "x"}, {"name": "app", "image": "y"}])
    assert respond(review(obj), CONFIG).outcome == "skipped:already_injected"


@pytest.mark.parametrize(
    ("labels", "annotations"),
    [
        ({}, {}),
        ({"sluice.dev/inject": "false"}, {}),
        ({"sluice.dev/inject": "yes"}, {}),
        ({"sluice.dev/inject": "true"}, {"sluice.dev/inject": "false"}),  # annotation wins
    ],
    ids=["unlabelled", "label-false", "label-not-true", "annotation-opts-out"],
)
def test_pods_that_do_not_opt_in_are_allowed_unpatched(
    labels: dict[str, str], annotations: dict[str, str]
) -> None:
    """Without an opt-in the pod is allowed as it is: no patch at all."""
    obj = pod()
    obj["metadata"] = {"name": "web", "labels": labels, "annotations": annotations}
    decision = respond(review(obj), CONFIG)
    assert decision.outcome == "skipped:not_opted_in"
    assert "patch" not in decision.response["response"]
    assert decision.response["response"]["allowed"] is True


def test_annotation_alone_opts_in() -> None:
    """The annotation opts a pod in without the label (the webhook's objectSelector permitting)."""
    obj = pod()
    obj["metadata"] = {"name": "web", "annotations": {"sluice.dev/inject": "true"}}
    out = patched(obj)
    assert out["metadata"]["annotations"][INJECTED_KEY] == "true"
    assert out["metadata"]["annotations"]["sluice.dev/inject"] == "true"


@pytest.mark.parametrize(
    "request_fields",
    [
        {"kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
         "resource": {"group": "apps", "version": "v1", "resource": "deployments"}},
        {"kind": {"group": "", "version": "v1", "kind": "Pod"},
         "resource": {"group": "", "version": "v1", "resource": "pods"}, "subResource": "status"},
        {"operation": "UPDATE"},
    ],
    ids=["deployment", "pod-status", "update"],
)  # fmt: skip
def test_non_pod_and_non_create_requests_are_allowed_unpatched(
    request_fields: dict[str, Any],
) -> None:
    """Only Pod CREATEs are ever patched; anything else passes through."""
    decision = respond(review(pod(), **request_fields), CONFIG)
    assert decision.outcome.startswith("skipped:")
    assert decision.response["response"] == {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "allowed": True,
    }


def test_every_app_and_init_container_gets_the_socket_once() -> None:
    """Several containers and init containers: each gets one socket mount and env; the sidecar
    is the first init container so later init containers can use the session."""
    obj = pod(
        containers=[
            {"name": "web", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"}],
             "env": [{"name": "MODE", "value": "preview"}]},
            {"name": "worker", "image": "y",
             "env": [{"name": "SLUICE_SOCKET", "value": "/elsewhere.sock"}]},
        ],
        initContainers=[{"name": "migrate", "image": "z"}],
        volumes=[{"name": "data", "emptyDir": {}}],
    )  # fmt: skip
    out = patched(obj)
    assert [c["name"] for c in out["spec"]["initContainers"]] == [SIDECAR_NAME, "migrate"]
    web, worker = out["spec"]["containers"]
    assert [m["name"] for m in web["volumeMounts"]] == ["data", "sluice-socket"]
    assert web["env"] == [
        {"name": "MODE", "value": "preview"},
        {"name": "SLUICE_SOCKET", "value": SOCKET},
    ]
    assert worker["env"] == [{"name": "SLUICE_SOCKET", "value": "/elsewhere.sock"}]  # kept
    migrate = out["spec"]["initContainers"][1]
    assert [m["name"] for m in migrate["volumeMounts"]] == ["sluice-socket"]
    assert [v["name"] for v in out["spec"]["volumes"]] == [
        "data",
        "sluice-identity",
        "sluice-socket",
    ]


@pytest.mark.parametrize("volumes", [None, [], [{"name": "cfg", "configMap": {"name": "c"}}]])
def test_volumes_are_added_whatever_the_pod_had(volumes: list[Any] | None) -> None:
    """No volumes key, an empty list, or existing volumes: ours are appended, theirs kept."""
    obj = pod() if volumes is None else pod(volumes=volumes)
    names = [v["name"] for v in patched(obj)["spec"]["volumes"]]
    assert names == [v["name"] for v in volumes or []] + ["sluice-identity", "sluice-socket"]


def test_existing_annotations_are_kept() -> None:
    """The injected mark is added next to the pod's own annotations."""
    obj = pod()
    obj["metadata"]["annotations"] = {"team": "web", "sluice.dev/inject": "true"}
    out = patched(obj)
    assert out["metadata"]["annotations"] == {
        "team": "web",
        "sluice.dev/inject": "true",
        INJECTED_KEY: "true",
    }


def test_sidecar_shares_the_pods_run_as_user() -> None:
    """The sidecar runs as the pod's non-root uid (the app must enter its 0700 socket dir)."""
    out = patched(pod(securityContext={"runAsUser": 1000, "fsGroup": 1000}))
    assert sidecar_of(out)["securityContext"]["runAsUser"] == 1000
    root = patched(pod(securityContext={"runAsUser": 0}))
    assert sidecar_of(root)["securityContext"]["runAsUser"] == 65532


def test_without_native_sidecars_it_is_the_first_container_held_by_post_start() -> None:
    """Clusters without native sidecars: first container, postStart waits for the socket."""
    config = InjectionConfig(image="i", broker_url="http://b", native_sidecar=False)
    out = patched(pod(initContainers=[{"name": "migrate", "image": "z"}]), config)
    first = out["spec"]["containers"][0]
    assert first["name"] == SIDECAR_NAME and "restartPolicy" not in first
    assert first["lifecycle"]["postStart"]["exec"]["command"][-2:] == ["--wait-s", "60"]
    assert "volumeMounts" not in out["spec"]["initContainers"][0]  # runs before the sidecar
    assert out["spec"]["containers"][1]["volumeMounts"][0]["name"] == "sluice-socket"


def test_args_carry_settings_never_secret_material() -> None:
    """Args name files and URLs; the token only ever lives in the projected volume."""
    config = InjectionConfig(
        image="i", broker_url="http://b", allow_uids=(1001,), extra_args=("--log-level", "DEBUG")
    )
    sidecar = sidecar_of(patched(pod(), config))
    assert sidecar["args"][-4:] == ["--allow-uid", "1001", "--log-level", "DEBUG"]
    assert "env" not in sidecar


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ({"containers": "app"}, "malformed_pod"),
        ({"containers": []}, "malformed_pod"),
        ({"containers": [{"image": "x"}]}, "malformed_pod"),
        ({"volumes": [{"name": "sluice-socket", "emptyDir": {}}]}, "injection_conflict"),
        ({"containers": [{"name": "a", "volumeMounts": [{"name": "v", "mountPath": "/var/run/sluice"}]}]},
         "injection_conflict"),
    ],
    ids=["containers-not-list", "no-containers", "nameless", "volume-clash", "mount-clash"],
)  # fmt: skip
def test_pods_that_cannot_be_patched_follow_the_failure_policy(
    spec: dict[str, Any], code: str
) -> None:
    """Fail refuses the pod with a message naming the problem; Ignore admits it unpatched with
    a warning. Neither answer quotes the pod."""
    obj = pod(**spec)
    refused = respond(review(obj), CONFIG)
    assert refused.outcome == f"refused:{code}"
    answer = refused.response["response"]
    assert answer["allowed"] is False and "patch" not in answer
    assert code in answer["status"]["message"]
    ignore = InjectionConfig(image="i", broker_url="http://b", failure_policy="Ignore")
    admitted = respond(review(obj), ignore)
    assert admitted.outcome == f"unpatched:{code}"
    assert admitted.response["response"]["allowed"] is True
    assert code in admitted.response["response"]["warnings"][0]
    assert "patch" not in admitted.response["response"]


@pytest.mark.parametrize(
    "body",
    [
        None, [], "AdmissionReview", {},
        {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "u"}},
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"},
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": ""}},
    ],
)  # fmt: skip
def test_bodies_that_are_not_reviews_raise_a_typed_error(body: Any) -> None:
    """Without a v1 AdmissionReview carrying a uid there is nothing to answer: MalformedReview."""
    with pytest.raises(MalformedReview) as caught:
        respond(body, CONFIG)
    assert caught.value.code == "malformed_review"


def test_decision_names_the_pod_but_holds_none_of_its_spec() -> None:
    """The decision a log line is made of: namespace, name, uid and outcome only."""
    obj = pod(
        containers=[{"name": "app", "image": "x", "env": [{"name": "K", "value": "hunter2"}]}]
    )
    decision = respond(review(obj), CONFIG)
    assert (decision.namespace, decision.name, decision.outcome) == (
        "preview-42",
        "web-",
        "injected",
    )
    assert "hunter2" not in repr(
        (decision.uid, decision.namespace, decision.name, decision.outcome)
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)
pod_keys = st.sampled_from(
    ["metadata", "spec", "containers", "initContainers", "volumes", "name", "labels",
     "annotations", "sluice.dev/inject", "env", "volumeMounts", "securityContext", "runAsUser"]
)  # fmt: skip
pod_like = st.recursive(
    st.none() | st.text(max_size=6) | st.just("true") | st.integers(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(pod_keys, inner, max_size=4),
    max_leaves=25,
)

names = st.text("abcz-", min_size=1, max_size=5)
containers = st.fixed_dictionaries(
    {"name": names, "image": st.just("x")},
    optional={"volumeMounts": pod_like, "env": pod_like, "args": pod_like},
)
near_pods = st.fixed_dictionaries(
    {
        "metadata": st.fixed_dictionaries(
            {"labels": st.just({"sluice.dev/inject": "true"})},
            optional={"annotations": st.dictionaries(names, names, max_size=2), "name": names},
        ),
        "spec": st.fixed_dictionaries(
            {"containers": st.lists(containers, min_size=1, max_size=3) | pod_like},
            optional={
                "initContainers": st.lists(containers, max_size=2) | pod_like,
                "volumes": st.lists(st.fixed_dictionaries({"name": names}), max_size=2),
                "securityContext": st.fixed_dictionaries({"runAsUser": st.integers(-1, 70000)}),
            },
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_body_gives_a_response_or_a_typed_error(body: Any) -> None:
    """Arbitrary JSON either raises an InjectError or yields an AdmissionReview answer."""
    try:
        decision = respond(body, CONFIG)
    except InjectError:
        return
    assert decision.response["kind"] == "AdmissionReview"


@settings(max_examples=400, deadline=None)
@given(pod_like | near_pods, st.booleans())
def test_any_pod_shaped_object_gets_an_answer_whose_patch_applies(obj: Any, ignore: bool) -> None:
    """Any JSON in request.object gets an answer with the request's uid; a patch, when given,
    applies cleanly and leaves a pod that is marked as injected."""
    if isinstance(obj, dict):
        obj.setdefault("metadata", {"labels": {"sluice.dev/inject": "true"}})
    config = InjectionConfig(
        image="i", broker_url="http://b", failure_policy="Ignore" if ignore else "Fail"
    )
    answer = respond(review(copy.deepcopy(obj)), config).response["response"]
    assert answer["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002"
    assert answer["allowed"] is True or not ignore
    if "patch" in answer:
        out = jsonpatch.apply_patch(obj, json.loads(base64.b64decode(answer["patch"])))
        assert out["metadata"]["annotations"][INJECTED_KEY] == "true"
        assert respond(review(out), config).outcome == "skipped:already_injected"
