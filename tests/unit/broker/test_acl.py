"""Per-session ACL rendering: template checks, claim lookup, value safety, path shape."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.acl import (
    AclTemplateError,
    MissingClaim,
    UnsafeClaimValue,
    claim_value,
    parse_acl_template,
    policy_name,
    policy_paths,
    render_acl,
)

NS_TEMPLATE = (
    'path "secret/data/previews/{claims.kubernetes.io.namespace}/*" {\n'
    '  capabilities = ["read"]\n'
    "}\n"
    'path "secret/metadata/previews/{claims.kubernetes.io.namespace}/*" {\n'
    '  capabilities = ["list"]\n'
    "}\n"
)
GH_TEMPLATE = (
    "# one repository's deploy secrets\n"
    'path "secret/data/ci/{claims.repository_owner}/app-{claims.environment}/config" {\n'
    '  capabilities = ["read"]\n'
    "}\n"
)
K8S_CLAIMS = {
    "iss": "https://kubernetes.default.svc",
    "kubernetes.io": {"namespace": "preview-42", "serviceaccount": {"name": "web", "uid": "u"}},
}


def test_renders_nested_dotted_claim() -> None:
    """A dotted claim name resolves through the nested `kubernetes.io` object."""
    policy = render_acl(parse_acl_template(NS_TEMPLATE), K8S_CLAIMS)
    assert policy_paths(policy) == (
        "secret/data/previews/preview-42/*",
        "secret/metadata/previews/preview-42/*",
    )
    assert policy == NS_TEMPLATE.replace("{claims.kubernetes.io.namespace}", "preview-42")


def test_renders_several_claims_and_keeps_comments() -> None:
    """Several placeholders in one path are each replaced; the rest of the text is kept."""
    claims = {"repository_owner": "octo-org", "environment": "prod"}
    policy = render_acl(parse_acl_template(GH_TEMPLATE), claims)
    assert policy_paths(policy) == ("secret/data/ci/octo-org/app-prod/config",)
    assert policy.startswith("# one repository's deploy secrets\n")


@pytest.mark.parametrize(
    ("claims", "name", "expected"),
    [
        ({"kubernetes.io": {"namespace": "a"}}, "kubernetes.io.namespace", "a"),
        ({"kubernetes.io.namespace": "flat"}, "kubernetes.io.namespace", "flat"),
        ({"kubernetes": {"io": {"namespace": "deep"}}}, "kubernetes.io.namespace", "deep"),
        # the longest existing key wins at each level
        (
            {"kubernetes.io": {"namespace": "long"}, "kubernetes": {"io": {"namespace": "x"}}},
            "kubernetes.io.namespace",
            "long",
        ),
        (
            {"kubernetes.io": {"serviceaccount": {"name": "web"}}},
            "kubernetes.io.serviceaccount.name",
            "web",
        ),
        ({"run_id": 1234}, "run_id", 1234),
    ],
)
def test_claim_lookup(claims: dict[str, object], name: str, expected: object) -> None:
    """Claim names with dots resolve flat, nested or mixed keys."""
    assert claim_value(claims, name) == expected


@pytest.mark.parametrize(
    ("claims", "name"),
    [
        ({}, "environment"),
        ({"kubernetes.io": "flat-string"}, "kubernetes.io.namespace"),
        ({"kubernetes.io": {"pod": {}}}, "kubernetes.io.namespace"),
    ],
)
def test_missing_claim(claims: dict[str, object], name: str) -> None:
    """An absent claim is a typed refusal, not a KeyError."""
    with pytest.raises(MissingClaim) as info:
        claim_value(claims, name)
    assert info.value.code == "missing_claim" and info.value.http_status == 403


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a/b",
        "*",
        "a*",
        "+",
        "a+b",
        "..",
        "a..b",
        ".",
        "{x}",
        "a}",
        '"',
        "a'b",
        "a b",
        "a\nb",
        "a\tb",
        "a\x00b",
        "caf\u00e9",
        "\u0430dmin",
        "x" * 129,
        None,
        True,
        1.5,
        ["a"],
        {"a": "b"},
    ],
)
def test_unsafe_values_refused(value: object) -> None:
    """Any value that could widen or break the path raises `unsafe_claim_value`."""
    template = parse_acl_template(NS_TEMPLATE)
    with pytest.raises(UnsafeClaimValue) as info:
        render_acl(template, {"kubernetes.io": {"namespace": value}})
    assert info.value.code == "unsafe_claim_value"
    assert "kubernetes.io.namespace" in str(info.value)


def test_error_message_previews_only_safe_characters() -> None:
    """The refusal names the claim and never echoes the raw value's unsafe text."""
    hostile = "ns/../../sys/*\n" + "A" * 200
    with pytest.raises(UnsafeClaimValue) as info:
        render_acl(parse_acl_template(NS_TEMPLATE), {"kubernetes.io.namespace": hostile[:60]})
    message = str(info.value)
    assert "/" not in message.split("(value")[1] and "\n" not in message and "*" not in message
    assert "60 chars" in message


@pytest.mark.parametrize("value", ["preview-42", "a.b", ".github", "A_Z-09", "x" * 128, 1234567])
def test_safe_values_accepted(value: object) -> None:
    """Ordinary namespace, owner and id values are substituted as they are."""
    policy = render_acl(parse_acl_template(NS_TEMPLATE), {"kubernetes.io.namespace": value})
    assert policy_paths(policy)[0] == f"secret/data/previews/{value}/*"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ('path "secret/{claims.ns}/*" { capabilities = ["read"] ', "not closed"),
        ('path "secret/x" { capabilities = ["read"] }}', "unbalanced"),
        ('path "secret/x" { capabilities = ["read" }', "unbalanced"),
        ('path "secret/{claims.ns/*" { capabilities = ["read"] }', "placeholder"),
        ('path "secret/{ns}/*" { capabilities = ["read"] }', "placeholder"),
        ('path "secret/{claims.}/*" { capabilities = ["read"] }', "placeholder"),
        ('path "secret/{claims..a}/*" { capabilities = ["read"] }', "placeholder"),
        ('path "secret/{{identity.entity.id}}/*" { capabilities = ["read"] }', "placeholders"),
        ('path "secret/${claims.ns}/*" { capabilities = ["read"] }', "placeholders"),
        ('path "secret/x" { capabilities = ["{claims.cap}"] }', "only in path"),
        ('# {claims.ns}\npath "secret/x" { capabilities = ["read"] }', "only in path"),
        ('path "secret/\\"x" { capabilities = ["read"] }', "escape"),
        ('path "secret/x" { capabilities = ["read] }', "unterminated"),
        ('capabilities = ["read"]', "no path"),
        ('path "secret/caf\u00e9" { capabilities = ["read"] }', "ASCII"),
        ('/* open comment\npath "secret/x" { capabilities = ["read"] }', "comment"),
    ],
)
def test_template_errors_name_the_field(text: str, why: str) -> None:
    """A bad template is a config error naming the field, raised at load time."""
    with pytest.raises(AclTemplateError) as info:
        parse_acl_template(text, field="rules[2].acl")
    assert str(info.value).startswith("rules[2].acl: ")
    assert why in str(info.value)


def test_template_records_claims_and_paths() -> None:
    """Parsing lists the claims a template needs and its paths, placeholders unexpanded."""
    template = parse_acl_template(GH_TEMPLATE)
    assert template.claims == ("repository_owner", "environment")
    assert template.paths == (
        "secret/data/ci/{claims.repository_owner}/app-{claims.environment}/config",
    )


def test_policy_name_is_stable_and_checked() -> None:
    """The per-session policy name is derived from the session id alone."""
    assert policy_name("ses_aBC-12") == "sluice-session-ses_abc-12"  # as OpenBao stores it
    for bad in ["", "a/b", "a b", "x" * 97]:
        with pytest.raises(ValueError):
            policy_name(bad)


_GLOB = re.compile(r"[*+]")


@settings(max_examples=400, deadline=None)
@given(
    value=st.one_of(
        st.text(max_size=140), st.integers(), st.from_regex(r"[A-Za-z0-9._-]{1,20}", fullmatch=True)
    )
)
def test_rendering_never_widens_paths(value: object) -> None:
    """For any claim value: refusal, or exactly the template's paths with one safe segment."""
    template = parse_acl_template(NS_TEMPLATE + GH_TEMPLATE)
    claims = {"kubernetes.io.namespace": value, "repository_owner": value, "environment": "prod"}
    try:
        policy = render_acl(template, claims)
    except UnsafeClaimValue as exc:
        assert exc.code == "unsafe_claim_value"
        return
    text = str(value)
    paths = policy_paths(policy)
    assert paths == tuple(
        p.replace("{claims.kubernetes.io.namespace}", text)
        .replace("{claims.repository_owner}", text)
        .replace("{claims.environment}", "prod")
        for p in template.paths
    )
    for rendered, original in zip(paths, template.paths, strict=True):
        assert rendered.count("/") == original.count("/")
        assert len(_GLOB.findall(rendered)) == len(_GLOB.findall(original))
        assert all(seg not in ("", ".", "..") for seg in rendered.split("/"))
    # the rendered text is still a well-formed policy with the same blocks
    assert parse_acl_template(policy).paths == paths
