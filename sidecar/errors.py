"""Sidecar errors, each with a stable ``code``.

SidecarError                 sidecar_error
├── ConfigError              config_error        (bad flag, unreadable token file)
├── InsecureSocketDir        insecure_socket_dir (socket directory open to others)
├── BrokerUnavailable        broker_unavailable  (cannot reach the broker)
├── BrokerRefused            <broker's code>     (the broker answered with an error)
└── InjectError              inject_error        (the webhook cannot decide or patch)
    ├── MalformedReview      malformed_review    (the body is not an AdmissionReview)
    ├── MalformedPod         malformed_pod       (the pod spec cannot be patched safely)
    └── InjectionConflict    injection_conflict  (names the patch would add are taken)
"""

from __future__ import annotations


class SidecarError(Exception):
    code = "sidecar_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(SidecarError):
    code = "config_error"


class InsecureSocketDir(SidecarError):
    code = "insecure_socket_dir"


class BrokerUnavailable(SidecarError):
    code = "broker_unavailable"


class BrokerRefused(SidecarError):
    code = "broker_refused"

    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message, code)
        self.status = status


class InjectError(SidecarError):
    """Injection could not be decided or done; `code` says which part was at fault."""

    code = "inject_error"


class MalformedReview(InjectError):
    code = "malformed_review"


class MalformedPod(InjectError):
    code = "malformed_pod"


class InjectionConflict(InjectError):
    code = "injection_conflict"
