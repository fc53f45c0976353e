"""Sidecar injection: an AdmissionReview v1 for a Pod CREATE in, the AdmissionReview out.

Invariants:
- Pure: no I/O, no clock. The same review and config always give the same answer.
- A pod changes only when it opts in (`sluice.dev/inject: "true"` as an annotation, or as a
  label when there is no such annotation) and bears no mark of an earlier injection; anything
  else is allowed untouched. The patch only adds; it never replaces what the author wrote.
- The answer's uid is the request's. A body that is not an AdmissionReview with a uid cannot
  be answered and raises `MalformedReview`; the HTTP edge turns that into a 400, so the API
  server's own failurePolicy decides.
- An opted-in pod that cannot be patched (malformed spec, name clash) is refused under
  `failure_policy: Fail` (the default; the chart keeps it equal to the webhook's
  failurePolicy) and allowed unpatched, with a warning, under `Ignore`.
- Nothing from the pod (env, args, images) reaches an error message or a `Decision`: only
  namespace, name, uid and the outcome.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from sidecar.errors import InjectError, InjectionConflict, MalformedPod, MalformedReview

INJECT_KEY = "sluice.dev/inject"
INJECTED_KEY = "sluice.dev/injected"
SIDECAR_NAME = "sluice-sidecar"
TOKEN_VOLUME = "sluice-identity"
SOCKET_VOLUME = "sluice-socket"
TOKEN_DIR = "/var/run/secrets/sluice.dev/identity"
TOKEN_FILE = "token"
SOCKET_ENV = "SLUICE_SOCKET"
API_VERSION = "admission.k8s.io/v1"

Json = dict[str, Any]


@dataclass(frozen=True)
class InjectionConfig:
    """What the webhook puts into a pod; loaded from its config file by `webhook.load_config`."""

    image: str
    broker_url: str
    audience: str = "sluice"
    token_expiration_s: int = 600  # the API server's minimum
    socket_dir: str = "/var/run/sluice"
    image_pull_policy: str = "IfNotPresent"
    run_as_user: int = 65532  # when the pod names no non-root runAsUser
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    log_level: str = "INFO"
    allow_uids: tuple[int, ...] = ()
    extra_args: tuple[str, ...] = ()  # more `sluice sidecar serve` flags: visible, never secrets
    native_sidecar: bool = True  # initContainers + restartPolicy: Always (Kubernetes >= 1.29)
    startup_timeout_s: int = 60
    failure_policy: str = "Fail"  # or Ignore: what an opted-in pod we cannot patch gets

    @property
    def socket_path(self) -> str:
        # The sidecar insists on a 0700 directory of its own; an emptyDir's root is 0777.
        return f"{self.socket_dir.rstrip('/')}/sidecar/sluice.sock"


@dataclass(frozen=True)
class Decision:
    """What happened, fit for a log line: never any part of the pod spec."""

    uid: str
    namespace: str
    name: str
    outcome: str  # injected | skipped:<why> | refused:<code> | unpatched:<code>
    response: Json


def respond(review: object, config: InjectionConfig) -> Decision:
    """The AdmissionReview answering ``review``; raises `MalformedReview` if none can be built."""
    request = _request(review)
    uid: str = request["uid"]
    namespace = _text(request.get("namespace"))
    pod = request.get("object")
    name = _text(request.get("name")) or _pod_name(pod)

    def decided(outcome: str, response: Json) -> Decision:
        return Decision(uid, namespace, name, outcome, _review({"uid": uid, **response}))

    why = _not_applicable(request)
    if why:
        return decided(f"skipped:{why}", {"allowed": True})
    try:
        ops = patch_for(pod, config)
    except InjectError as exc:
        message = f"sluice: sidecar not injected: {exc.code}: {exc.message}"
        if config.failure_policy == "Ignore":
            return decided(f"unpatched:{exc.code}", {"allowed": True, "warnings": [message]})
        status = {"code": 400, "reason": "BadRequest", "message": message}
        return decided(f"refused:{exc.code}", {"allowed": False, "status": status})
    if ops is None:
        return decided(f"skipped:{_skip_reason(pod)}", {"allowed": True})
    patch = base64.b64encode(json.dumps(ops, separators=(",", ":")).encode()).decode()
    return decided("injected", {"allowed": True, "patchType": "JSONPatch", "patch": patch})


def patch_for(pod: object, config: InjectionConfig) -> list[Json] | None:
    """The RFC 6902 operations injecting the sidecar, or None when the pod is not to change."""
    if not isinstance(pod, dict):
        raise MalformedPod("request.object is not a Pod object")
    meta = _mapping(pod.get("metadata"), "metadata")
    annotations = _labels(meta.get("annotations"), "metadata.annotations")
    labels = _labels(meta.get("labels"), "metadata.labels")
    if not _opted_in(annotations, labels) or INJECTED_KEY in annotations:
        return None
    spec = _mapping(pod.get("spec"), "spec")
    containers = _objects(spec.get("containers"), "spec.containers", required=True)
    inits = _objects(spec.get("initContainers"), "spec.initContainers", required=False)
    if any(c["name"] == SIDECAR_NAME for c in containers + inits):
        return None  # injected before, by us or by hand: leave it be
    volumes = _objects(spec.get("volumes"), "spec.volumes", required=False)
    clash = {v["name"] for v in volumes} & {TOKEN_VOLUME, SOCKET_VOLUME}
    if clash:
        raise InjectionConflict(f"the pod already has a volume named {min(clash)}")

    ops: list[Json] = []
    # App containers first: inserting the sidecar into a list shifts the indices after it.
    # Init containers run after a native sidecar has started, so they may use the socket too.
    targets = [("containers", containers)]
    if config.native_sidecar:
        targets.append(("initContainers", inits))
    for listed_in, listed in targets:
        for index, container in enumerate(listed):
            ops += _app_container_ops(f"/spec/{listed_in}/{index}", container, config)
    ops += _append_ops("/spec/volumes", spec.get("volumes") is not None, _volumes(config))
    home = "initContainers" if config.native_sidecar else "containers"
    sidecar = sidecar_container(config, _pod_uid(spec, config))
    if spec.get(home) is not None:  # first: later init containers may need the session
        ops.append({"op": "add", "path": f"/spec/{home}/0", "value": sidecar})
    else:
        ops.append({"op": "add", "path": f"/spec/{home}", "value": [sidecar]})
    ops += _annotation_ops(pod.get("metadata") is not None, meta.get("annotations") is not None)
    return ops


def sidecar_container(config: InjectionConfig, uid: int) -> Json:
    """The injected container: locked down, reading the token file, serving the socket."""
    ready = ["sluice", "sidecar", "ready", "--socket", config.socket_path]
    args = [
        "sidecar", "serve",
        "--broker", config.broker_url,
        "--identity-token-file", f"{TOKEN_DIR}/{TOKEN_FILE}",
        "--socket", config.socket_path,
        "--log-level", config.log_level,
    ]  # fmt: skip
    for allowed in config.allow_uids:
        args += ["--allow-uid", str(allowed)]
    container: Json = {
        "name": SIDECAR_NAME,
        "image": config.image,
        "imagePullPolicy": config.image_pull_policy,
        "args": args + list(config.extra_args),
        "resources": json.loads(json.dumps(config.resources)),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": True},
            {"name": SOCKET_VOLUME, "mountPath": config.socket_dir},
        ],
    }
    if config.native_sidecar:
        # Kubernetes starts the app only once this probe passes: the socket is there and
        # accepting, i.e. the session is open.
        container["restartPolicy"] = "Always"
        container["startupProbe"] = {
            "exec": {"command": ready},
            "periodSeconds": 1,
            "timeoutSeconds": 1,
            "failureThreshold": config.startup_timeout_s,
        }
    else:
        # As a plain first container, a postStart hook holds the next containers' start.
        wait = ["--wait-s", str(config.startup_timeout_s)]
        container["lifecycle"] = {"postStart": {"exec": {"command": ready + wait}}}
    return container


def _volumes(config: InjectionConfig) -> list[Json]:
    # Mounted only in the sidecar, which has an explicit runAsUser: the kubelet then writes the
    # token 0600 owned by that uid. The app never sees the identity token.
    token = {
        "serviceAccountToken": {
            "audience": config.audience,
            "expirationSeconds": config.token_expiration_s,
            "path": TOKEN_FILE,
        }
    }
    return [
        {"name": TOKEN_VOLUME, "projected": {"sources": [token]}},
        {"name": SOCKET_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
    ]


def _app_container_ops(path: str, container: Json, config: InjectionConfig) -> list[Json]:
    mounts = _objects(container.get("volumeMounts"), "volumeMounts", required=False, key=None)
    if any(isinstance(m, dict) and m.get("mountPath") == config.socket_dir for m in mounts):
        raise InjectionConflict(f"a container already mounts something at {config.socket_dir}")
    # Read-only is enough to connect to a unix socket, and stops the app tampering with it.
    mount = {"name": SOCKET_VOLUME, "mountPath": config.socket_dir, "readOnly": True}
    ops = _append_ops(f"{path}/volumeMounts", container.get("volumeMounts") is not None, [mount])
    env = _objects(container.get("env"), "env", required=False, key=None)
    if not any(isinstance(e, dict) and e.get("name") == SOCKET_ENV for e in env):
        var = {"name": SOCKET_ENV, "value": config.socket_path}
        ops += _append_ops(f"{path}/env", container.get("env") is not None, [var])
    return ops


def _append_ops(path: str, exists: bool, values: list[Json]) -> list[Json]:
    if not exists:
        return [{"op": "add", "path": path, "value": values}]
    return [{"op": "add", "path": f"{path}/-", "value": value} for value in values]


def _annotation_ops(has_metadata: bool, has_annotations: bool) -> list[Json]:
    mark = {INJECTED_KEY: "true"}
    if not has_metadata:
        return [{"op": "add", "path": "/metadata", "value": {"annotations": mark}}]
    if not has_annotations:
        return [{"op": "add", "path": "/metadata/annotations", "value": mark}]
    escaped = INJECTED_KEY.replace("~", "~0").replace("/", "~1")
    return [{"op": "add", "path": f"/metadata/annotations/{escaped}", "value": "true"}]


def _pod_uid(spec: Json, config: InjectionConfig) -> int:
    """The pod's runAsUser when it names a non-root one (the app must share the sidecar's uid
    to enter the 0700 socket directory), else the configured uid."""
    context = spec.get("securityContext")
    uid = context.get("runAsUser") if isinstance(context, dict) else None
    if isinstance(uid, int) and not isinstance(uid, bool) and uid > 0:
        return uid
    return config.run_as_user


def _request(review: object) -> Json:
    if not isinstance(review, dict):
        raise MalformedReview("the body is not a JSON object")
    if review.get("apiVersion") != API_VERSION or review.get("kind") != "AdmissionReview":
        raise MalformedReview(f"the body is not an {API_VERSION} AdmissionReview")
    request = review.get("request")
    if not isinstance(request, dict):
        raise MalformedReview("the AdmissionReview has no request")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise MalformedReview("the AdmissionReview request has no uid")
    return request


def _not_applicable(request: Json) -> str:
    kind = request.get("kind")
    resource = request.get("resource")
    if not (isinstance(kind, dict) and kind.get("group") == "" and kind.get("kind") == "Pod"):
        return "not_a_pod"
    if not isinstance(resource, dict) or resource.get("resource") != "pods":
        return "not_a_pod"
    if request.get("subResource"):
        return "not_a_pod"
    if request.get("operation") != "CREATE":
        return "not_create"
    return ""


def _skip_reason(pod: object) -> str:
    meta = pod.get("metadata") if isinstance(pod, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    annotations, labels = meta.get("annotations"), meta.get("labels")
    if _opted_in(
        annotations if isinstance(annotations, dict) else {},
        labels if isinstance(labels, dict) else {},
    ):
        return "already_injected"
    return "not_opted_in"


def _opted_in(annotations: dict[str, Any], labels: dict[str, Any]) -> bool:
    choice = annotations[INJECT_KEY] if INJECT_KEY in annotations else labels.get(INJECT_KEY)
    return choice == "true"


def _review(response: Json) -> Json:
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response}


def _mapping(value: object, where: str) -> Json:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedPod(f"{where} is not an object")
    return value


def _labels(value: object, where: str) -> dict[str, Any]:
    mapping = _mapping(value, where)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise MalformedPod(f"{where} must map strings to strings")
    return mapping


def _objects(value: object, where: str, *, required: bool, key: str | None = "name") -> list[Json]:
    """A list of objects, each with a string ``key`` when one is given."""
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise MalformedPod(f"{where} must be a{' non-empty' if required else ''} list")
    for item in value:
        if not isinstance(item, dict):
            raise MalformedPod(f"{where} holds something that is not an object")
        if key is not None and not isinstance(item.get(key), str):
            raise MalformedPod(f"{where} holds an entry without a {key}")
    return value


def _pod_name(pod: object) -> str:
    meta = pod.get("metadata") if isinstance(pod, dict) else None
    if not isinstance(meta, dict):
        return ""
    return _text(meta.get("name")) or _text(meta.get("generateName"))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
