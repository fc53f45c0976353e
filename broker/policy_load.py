"""The declarative policy: ``rules`` inline in broker.yaml and/or in the ``policy_file`` it names.

Inline rules come first, then the policy file's, and the first matching rule wins. Every
problem is collected with the field's path; problems in the policy file carry their own
``file:line`` (inline ones are located by ``settings.load``).

    rules:
      - name: previews
        issuer: k8s                      # an issuer's name or URL
        match:
          kubernetes.io.namespace: "preview-*"            # bare string: exact, or glob
          kubernetes.io.serviceaccount.name: [web, worker]  # list: one of
          sub: {regex: "system:serviceaccount:preview-[0-9]+:web"}  # anchored
        policies: [previews-common]      # existing OpenBao policies, and/or:
        acl: |
          path "secret/data/previews/{claims.kubernetes.io.namespace}/*" {
            capabilities = ["read"]
          }
        ttl: 10m
        max_ttl: 1h
        renewable: false
        num_uses: 0
        max_sessions_per_subject: 5
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from broker.acl import POLICY_PREFIX, AclTemplateError, parse_acl_template
from broker.claims import IssuerConfig
from broker.config_marks import Where, line_index, line_of
from broker.policy import KINDS, Condition, Rule
from broker.settings_identity import seconds

Problems = list[tuple[str, str]]
RULE_KEYS = frozenset(
    {
        "name", "issuer", "match", "policies", "acl", "ttl", "max_ttl", "renewable", "num_uses",
        "max_sessions_per_subject", "no_default_policy",
    }
)  # fmt: skip
DEFAULT_TTL = "10m"


class _Sink:
    """Appends problems, located in ``filename`` when one is given."""

    def __init__(self, problems: Problems, filename: str | None, index: dict[str, int]) -> None:
        self.problems, self.filename, self.index = problems, filename, index

    def __call__(self, where: str, why: str) -> None:
        if self.filename is None:
            self.problems.append((where, why))
            return
        line = line_of(self.index, where)
        location = f"{self.filename}:{line}" if line else self.filename
        self.problems.append((Where.at(where, location), why))


def load_rules(
    raw: Mapping[str, Any], issuers: Sequence[IssuerConfig], problems: Problems
) -> list[Rule]:
    by_ref = {cfg.name: cfg.issuer for cfg in issuers} | {cfg.issuer: cfg.issuer for cfg in issuers}
    inline, policy_file = raw.get("rules"), raw.get("policy_file")
    rules: list[Rule] = []
    if inline is not None:
        rules += rules_from(inline, by_ref, _Sink(problems, None, {}))
    if policy_file is not None:
        rules += _from_file(policy_file, by_ref, problems)
    if inline is None and policy_file is None:
        problems.append(("rules", "required: a non-empty list, or policy_file naming one"))
    names = [r.name for r in rules]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(("rules", f"rule name {dup!r} is used more than once"))
    return rules


def _from_file(value: Any, by_ref: Mapping[str, str], problems: Problems) -> list[Rule]:
    if not isinstance(value, str) or not value:
        problems.append(("policy_file", "a file path"))
        return []
    try:
        text = Path(value).read_text()
        loaded = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{value}:{mark.line + 1}" if mark is not None else value
        problems.append(("policy_file", f"cannot read {where}: {type(exc).__name__}"))
        return []
    sink = _Sink(problems, value, line_index(text))
    if isinstance(loaded, dict) and "rules" in loaded:
        extra = sorted(set(loaded) - {"rules"})
        if extra:
            sink(str(extra[0]), "a policy file holds only `rules`")
        return rules_from(loaded["rules"], by_ref, sink)
    sink("rules", "a policy file is a mapping with a `rules` list")
    return []


def rules_from(value: Any, by_ref: Mapping[str, str], sink: _Sink) -> list[Rule]:
    if not isinstance(value, list) or not value:
        sink("rules", "must be a non-empty list")
        return []
    return [rule for i, item in enumerate(value) if (rule := _rule(item, i, by_ref, sink))]


def _rule(item: Any, i: int, by_ref: Mapping[str, str], sink: _Sink) -> Rule | None:
    where = f"rules[{i}]"
    if not isinstance(item, dict):
        sink(where, "must be a mapping")
        return None
    before = len(sink.problems)
    for key in sorted(set(item) - RULE_KEYS):
        sink(f"{where}.{key}", f"unknown field (known: {', '.join(sorted(RULE_KEYS))})")
    name = item.get("name", f"rule-{i}")
    if not isinstance(name, str) or not name.strip():
        sink(f"{where}.name", "a non-empty string")
    ref = item.get("issuer")
    issuer = by_ref.get(ref) if isinstance(ref, str) else None
    if issuer is None:
        sink(f"{where}.issuer", "must name one of the configured issuers (name or URL)")
    conditions = _conditions(item.get("match", {}), f"{where}.match", sink)
    policies = _policies(item.get("policies"), f"{where}.policies", sink)
    acl = None
    if item.get("acl") is not None:
        if not isinstance(item["acl"], str):
            sink(f"{where}.acl", "an HCL policy template (a string)")
        else:
            try:
                acl = parse_acl_template(item["acl"], field=f"{where}.acl")
            except AclTemplateError as exc:
                sink(f"{where}.acl", exc.why)
    if not policies and acl is None:
        sink(f"{where}.policies", "a rule must grant policies, an acl, or both")
    ttl = _seconds(item.get("ttl", DEFAULT_TTL), f"{where}.ttl", sink) or 1
    max_ttl = _seconds(item["max_ttl"], f"{where}.max_ttl", sink) if "max_ttl" in item else None
    if max_ttl is not None and max_ttl < ttl:
        sink(f"{where}.max_ttl", "must be at least ttl")
    renewable = _bool(item.get("renewable", False), f"{where}.renewable", sink)
    no_default = _bool(item.get("no_default_policy", True), f"{where}.no_default_policy", sink)
    num_uses = _count(item.get("num_uses", 0), f"{where}.num_uses", sink, lo=0)
    max_sessions = item.get("max_sessions_per_subject")
    if max_sessions is not None:
        max_sessions = _count(max_sessions, f"{where}.max_sessions_per_subject", sink, lo=1)
    if len(sink.problems) > before or issuer is None:
        return None
    return Rule(
        name=str(name),
        issuer=issuer,
        match=tuple(conditions),
        policies=policies,
        ttl_s=ttl,
        no_default_policy=no_default,
        max_ttl_s=max_ttl,
        renewable=renewable,
        num_uses=num_uses,
        max_sessions_per_subject=max_sessions,
        acl=acl,
    )


def _conditions(value: Any, where: str, sink: _Sink) -> list[Condition]:
    if not isinstance(value, dict):
        sink(where, "must map claim names to patterns")
        return []
    out = []
    for claim, spec in value.items():
        at = f"{where}.{claim}"
        if not isinstance(claim, str) or not claim:
            sink(where, "claim names are non-empty strings")
            continue
        try:
            out.append(_condition(claim, spec))
        except ValueError as exc:
            sink(at, str(exc))
    return out


def _condition(claim: str, spec: Any) -> Condition:
    if isinstance(spec, dict):
        if len(spec) != 1 or next(iter(spec)) not in KINDS:
            raise ValueError(f"use one of {', '.join(KINDS)}: {{regex: '...'}}")
        kind, arg = next(iter(spec.items()))
        values = [_scalar(v) for v in arg] if kind == "one_of" and isinstance(arg, list) else None
        if kind == "one_of" and not values:
            raise ValueError("one_of needs a non-empty list of values")
        try:
            return Condition.of(claim, kind, values or [_scalar(arg)])
        except (re.error, ValueError) as exc:  # re.error names the fault's position
            raise ValueError(f"invalid {kind}: {exc}") from None
    if isinstance(spec, list):
        if not spec:
            raise ValueError("an empty list matches nothing")
        return Condition.of(claim, "one_of", [_scalar(v) for v in spec])
    text = _scalar(spec)
    return (
        Condition.shorthand(claim, text)
        if isinstance(spec, str)
        else Condition.of(claim, "exact", [text])
    )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError("patterns are strings, numbers or booleans")


def _policies(value: Any, where: str, sink: _Sink) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        sink(where, "a list of OpenBao policy names")
        return ()
    for name in value:
        if name == "root" or name.lower().startswith(POLICY_PREFIX):
            sink(where, f"{name!r} cannot be granted (root, or a per-session policy name)")
    return tuple(value)


def _seconds(value: Any, where: str, sink: _Sink) -> int | None:
    try:
        return seconds(value)
    except ValueError as exc:
        sink(where, str(exc))
        return None


def _bool(value: Any, where: str, sink: _Sink) -> bool:
    if not isinstance(value, bool):
        sink(where, "must be true or false")
        return False
    return value


def _count(value: Any, where: str, sink: _Sink, lo: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        sink(where, f"an integer >= {lo}")
        return lo
    return value
