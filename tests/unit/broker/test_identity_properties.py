"""Property tests: the verifier, the policy matcher and the policy loader never crash.

Whatever the input, each ends in a result or one of the broker's typed errors (a
``BrokerError`` with a stable code), never another exception.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.api_jwk import PyJWK

from broker import errors
from broker.acl import AclError, render_acl
from broker.claims import IssuerConfig, VerifiedClaims, verify
from broker.policy import KINDS, Condition, Rule, evaluate, grant_for
from broker.policy_load import _Sink, rules_from
from demo.issuer import SigningKey
from tests.support import tokens

ISS = "https://issuer.example"
NOW = 1_800_000_000
KEY = SigningKey.rsa("k1")
PUB = PyJWK(KEY.public_jwk())
CFG = IssuerConfig(issuer=ISS, audiences=("sluice",), kind="kubernetes", max_token_age_s=600)
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
claim_names = st.sampled_from(
    ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "kubernetes.io", "ns", "x"]
)
times = st.one_of(st.integers(NOW - 10_000, NOW + 10_000), json_values)
claim_sets = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.sampled_from([ISS, "https://other.example"]) | json_values,
        "sub": st.text(max_size=10) | json_values,
        "aud": st.sampled_from(["sluice", ["x", "sluice"], "other"]) | json_values,
        "exp": times,
        "nbf": times,
        "iat": times,
        "jti": st.text(max_size=300) | json_values,
        "kubernetes.io": json_values
        | st.fixed_dictionaries(
            {"namespace": st.text(max_size=10), "serviceaccount": st.just({"name": "web"})}
        ),
    },
)
headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["RS256", "ES256", "none", "HS256", "PS256"]) | json_values},
    optional={"kid": st.just("k1") | json_values, "crit": json_values, "typ": json_values},
)


def b64(value: Any) -> str:
    return tokens.b64url(json.dumps(value).encode())


@FAST
@given(st.text(max_size=300))
def test_any_text_is_a_result_or_a_typed_error(text: str) -> None:
    """Arbitrary strings never escape as anything but an AuthError."""
    try:
        verify(text, PUB, CFG, NOW)
    except errors.AuthError:
        pass


@FAST
@given(headers, claim_sets, st.binary(max_size=64))
def test_any_structured_token_is_a_result_or_a_typed_error(
    header: dict[str, Any], body: dict[str, Any], signature: bytes
) -> None:
    """Well-formed JSON in any shape, with any signature bytes: a typed refusal."""
    token = f"{b64(header)}.{b64(body)}.{tokens.b64url(signature)}"
    try:
        verify(token, PUB, CFG, NOW)
    except errors.AuthError:
        pass


@FAST
@given(claim_sets)
def test_validly_signed_claims_of_any_shape_end_in_a_result_or_a_typed_error(
    body: dict[str, Any],
) -> None:
    """With a good signature every claim check runs; none of them crashes."""
    try:
        result = verify(tokens.sign(body, KEY.private, KEY.kid), PUB, CFG, NOW)
    except errors.AuthError:
        return
    assert isinstance(result, VerifiedClaims) and result.issuer == ISS


patterns = st.text(alphabet="abc*?[]-.", max_size=6)
conditions = st.builds(
    lambda claim, kind, values: Condition.of(
        claim, kind, [re.escape(v) if kind == "regex" else v for v in values]
    ),
    claim_names | st.sampled_from(["kubernetes.io.namespace", "a.b.c"]),
    st.sampled_from(KINDS),
    st.lists(patterns, min_size=1, max_size=1),
)
rules = st.lists(
    st.builds(
        lambda name, iss, match: Rule(name, iss, tuple(match), ("p",), 60),
        st.text(min_size=1, max_size=5),
        st.sampled_from([ISS, "https://other.example"]),
        st.lists(conditions, max_size=3),
    ),
    max_size=4,
)


@FAST
@given(rules, st.dictionaries(st.text(max_size=12), json_values, max_size=6) | claim_sets)
def test_matcher_on_any_rules_and_claims(rule_list: list[Rule], claims: dict[str, Any]) -> None:
    """grant_for and evaluate agree and never raise, whatever the claims hold."""
    grant, trace = evaluate(rule_list, ISS, claims)
    assert grant_for(rule_list, ISS, claims) == grant
    assert len(trace) <= len(rule_list)
    if grant is not None:
        assert trace[-1].matched and trace[-1].rule == grant.rule


@FAST
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=6) | claim_sets)
def test_acl_rendering_is_text_or_a_typed_refusal(claims: dict[str, Any]) -> None:
    """Rendering against hostile claims yields a policy or an AclError, nothing else."""
    from broker.acl import parse_acl_template

    template = parse_acl_template('path "kv/{claims.kubernetes.io.namespace}/{claims.sub}/*" {}')
    try:
        text = render_acl(template, claims)
    except AclError as exc:
        assert exc.code in {"unsafe_claim_value", "missing_claim"}
        return
    assert text.count('path "') == 1 and "*" not in text.split("/*")[0]


@FAST
@given(json_values)
def test_policy_loader_on_any_yaml_shape(value: Any) -> None:
    """Any YAML value under `rules` gives rules or located problems, never an exception."""
    problems: list[tuple[str, str]] = []
    built = rules_from(value, {"k8s": ISS}, _Sink(problems, "policy.yaml", {}))
    assert all(isinstance(r, Rule) for r in built)
    assert all(isinstance(w, str) and isinstance(why, str) for w, why in problems)
