"""Config sections for identity: ``issuers``, ``max_token_bytes``, ``audit``, ``rate_limits``.

Each parser appends ``(field, why)`` problems and returns what it could build; the caller
raises one ConfigError with all of them.

    issuers:
      - name: k8s                  # label in rules, metrics and audit (default: issuer host)
        kind: kubernetes           # kubernetes | github | gitlab | generic (default)
        issuer: https://kubernetes.default.svc.cluster.local
        audiences: [sluice]
        jwks_file: /etc/sluice/k8s-jwks.json   # or jwks_url, or discovery_url (default)
        algorithms: [RS256, ES256]             # RS*/PS*/ES*/EdDSA only
        clock_skew: 60s
        max_token_age: 1h                      # optional: iat older than this is refused
        single_use_jti: true                   # a token with jti opens one session only
    audit: {path: /var/log/sluice/audit.jsonl, fsync: false}
    rate_limits:
      subject: {rate_per_s: 20, burst: 40}     # or `off`
      issuer: {rate_per_s: 500, burst: 1000}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from broker.claims import (
    ASYMMETRIC_ALGORITHMS,
    DEFAULT_ALGORITHMS,
    DEFAULT_LEEWAY_S,
    KINDS,
    MAX_TOKEN_BYTES,
    IssuerConfig,
)
from broker.ratelimit import BucketSpec

Problems = list[tuple[str, str]]
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
KIND_ALGORITHMS = {
    "github": ("RS256",),
    "gitlab": ("RS256",),
    "kubernetes": DEFAULT_ALGORITHMS,
    "generic": DEFAULT_ALGORITHMS,
}
DEFAULT_LIMITS = {"subject": BucketSpec(20.0, 40.0), "issuer": BucketSpec(500.0, 1000.0)}
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class AuditSettings:
    path: Path | None = None  # None: no audit log (a warning at start-up)
    fsync: bool = False


@dataclass(frozen=True)
class IdentitySettings:
    max_token_bytes: int = MAX_TOKEN_BYTES
    audit: AuditSettings = AuditSettings()
    rate_limits: Mapping[str, BucketSpec] = field(default_factory=lambda: dict(DEFAULT_LIMITS))


def seconds(value: object) -> int:
    """``600``, ``"600"``, ``"10m"``, ``"1h"`` -> seconds (positive)."""
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    else:
        m = _DURATION.match(str(value).strip())
        if not m or isinstance(value, bool):
            raise ValueError("expected seconds or a duration like 90s, 10m, 1h")
        result = int(m.group(1)) * _UNITS[m.group(2)]
    if result <= 0:
        raise ValueError("must be positive")
    return result


def default_name(issuer: str) -> str:
    parts = urlsplit(issuer)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", parts.netloc or issuer)[:64] or "issuer"


def issuer_configs(value: Any, problems: Problems) -> list[IssuerConfig]:
    if not isinstance(value, list) or not value:
        problems.append(("issuers", "required: a non-empty list"))
        return []
    out = [cfg for i, item in enumerate(value) if (cfg := _issuer(item, i, problems))]
    seen_url: set[str] = set()
    seen_name: set[str] = set()
    for i, cfg in enumerate(out):
        if cfg.issuer in seen_url:
            problems.append((f"issuers[{i}].issuer", "issuer listed twice"))
        if cfg.name in seen_name:
            problems.append((f"issuers[{i}].name", f"name {cfg.name!r} used twice: set `name`"))
        seen_url.add(cfg.issuer)
        seen_name.add(cfg.name)
    return out


def _issuer(item: Any, i: int, problems: Problems) -> IssuerConfig | None:
    where = f"issuers[{i}]"
    if not isinstance(item, dict):
        problems.append((where, "must be a mapping"))
        return None
    before = len(problems)
    kind = item.get("kind", "generic")
    if kind not in KINDS:
        problems.append((f"{where}.kind", f"one of {', '.join(KINDS)}"))
        kind = "generic"
    iss = item.get("issuer", GITHUB_ISSUER if kind == "github" else None)
    if not isinstance(iss, str) or not iss.startswith(("http://", "https://")):
        problems.append((f"{where}.issuer", "required, an http(s) URL"))
        iss = ""
    name = item.get("name", default_name(iss))
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append((f"{where}.name", "1-64 characters of [A-Za-z0-9_.-]"))
    auds = _strings(item.get("audiences"))
    if auds is None:
        problems.append((f"{where}.audiences", "required: one or more strings"))
    algs = _strings(item.get("algorithms", list(KIND_ALGORITHMS[kind])))
    if algs is None or any(a not in ASYMMETRIC_ALGORITHMS for a in algs):
        problems.append(
            (f"{where}.algorithms", "asymmetric algorithms only (RS*, PS*, ES*, EdDSA)")
        )
    sources = [k for k in ("discovery_url", "jwks_url", "jwks_file") if item.get(k) is not None]
    if len(sources) > 1:
        problems.append((f"{where}.{sources[1]}", f"set only one of {', '.join(sources)}"))
    for key in ("discovery_url", "jwks_url"):
        url = item.get(key)
        if url is not None and (not isinstance(url, str) or not url.startswith("http")):
            problems.append((f"{where}.{key}", "an http(s) URL"))
    jwks_file = item.get("jwks_file")
    if jwks_file is not None and (not isinstance(jwks_file, str) or not jwks_file):
        problems.append((f"{where}.jwks_file", "a file path"))
    leeway = _duration(item, ("clock_skew", "leeway_s"), DEFAULT_LEEWAY_S, where, problems)
    max_age = _duration(item, ("max_token_age",), None, where, problems)
    single_use = item.get("single_use_jti", True)
    if not isinstance(single_use, bool):
        problems.append((f"{where}.single_use_jti", "must be true or false"))
    if len(problems) > before or auds is None or algs is None:
        return None
    return IssuerConfig(
        issuer=iss,
        audiences=auds,
        name=str(name),
        kind=kind,
        discovery_url=item.get("discovery_url"),
        jwks_url=item.get("jwks_url"),
        jwks_file=jwks_file,
        algorithms=algs,
        leeway_s=float(leeway or 0),
        max_token_age_s=max_age,
        single_use_jti=bool(single_use),
    )


def _duration(
    item: Mapping[str, Any], keys: tuple[str, ...], default: float | None, where: str, p: Problems
) -> float | None:
    for key in keys:
        if key in item:
            raw = item[key]
            if key.endswith("_s") and isinstance(raw, int | float) and not isinstance(raw, bool):
                if raw < 0:
                    p.append((f"{where}.{key}", "must not be negative"))
                return float(raw)
            try:
                return float(seconds(raw))
            except ValueError as exc:
                p.append((f"{where}.{key}", str(exc)))
                return default
    return default


def identity_settings(raw: Mapping[str, Any], problems: Problems) -> IdentitySettings:
    size = raw.get("max_token_bytes", MAX_TOKEN_BYTES)
    if not isinstance(size, int) or isinstance(size, bool) or not 1024 <= size <= 60 * 1024:
        problems.append(("max_token_bytes", "an integer from 1024 to 61440"))
        size = MAX_TOKEN_BYTES
    return IdentitySettings(
        max_token_bytes=size,
        audit=_audit(raw.get("audit"), problems),
        rate_limits=_limits(raw.get("rate_limits"), problems),
    )


def _audit(value: Any, problems: Problems) -> AuditSettings:
    if value is None:
        return AuditSettings()
    if not isinstance(value, dict):
        problems.append(("audit", "must be a mapping with `path`"))
        return AuditSettings()
    path, fsync = value.get("path"), value.get("fsync", False)
    if not isinstance(path, str) or not path:
        problems.append(("audit.path", "required: the audit log file"))
    if not isinstance(fsync, bool):
        problems.append(("audit.fsync", "must be true or false"))
    return AuditSettings(Path(path) if isinstance(path, str) and path else None, fsync is True)


def _limits(value: Any, problems: Problems) -> dict[str, BucketSpec]:
    limits = dict(DEFAULT_LIMITS)
    if value is None:
        return limits
    if not isinstance(value, dict):
        problems.append(("rate_limits", "must be a mapping"))
        return limits
    for scope, spec in value.items():
        where = f"rate_limits.{scope}"
        if scope not in DEFAULT_LIMITS:
            problems.append((where, "scopes are `subject` and `issuer`"))
        elif spec in (False, "off", None):
            limits.pop(scope)
        elif not isinstance(spec, dict):
            problems.append((where, "a mapping {rate_per_s, burst} or `off`"))
        else:
            try:
                limits[scope] = BucketSpec(float(spec["rate_per_s"]), float(spec["burst"]))
            except (KeyError, TypeError, ValueError) as exc:
                problems.append((where, f"needs positive rate_per_s and burst >= 1 ({exc})"))
    return limits


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return None
