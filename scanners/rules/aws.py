"""Amazon Web Services: access key ids, secret access keys (in context), session tokens."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import END_B64, keyed, prefixed

_SECRET_KEY = r"[A-Za-z0-9/+]{40}"

RULES: tuple[Rule, ...] = (
    prefixed(
        "aws-access-key-id", "AWS long-term access key id",
        r"(?:AKIA|ABIA|ACCA)[A-Z2-7]{16}", ("akia", "abia", "acca"), end=r"\b",
        tags=("aws",),
    ),
    prefixed(
        "aws-temporary-access-key-id", "AWS temporary (STS) access key id",
        r"ASIA[A-Z2-7]{16}", ("asia",), end=r"\b", tags=("aws",),
    ),
    keyed(
        "aws-secret-access-key", "AWS secret access key next to an AWS key name",
        r"aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key|aws_secret"
        r"|aws-secret-access-key",
        _SECRET_KEY, ("secret_access_key", "secretaccesskey", "aws_secret", "aws-secret",
                      "secret_key", "secretkey"),
        end=END_B64, min_entropy=3.5, tags=("aws",),
    ),
    Rule(
        id="aws-secret-access-key-pair",
        description="AWS secret access key right after its access key id (CSV, CLI output)",
        pattern=r"\b(?:AKIA|ASIA)[A-Z2-7]{16}[\s,;:|\"'=]{1,6}(?P<secret>" + _SECRET_KEY + ")"
        + END_B64,
        keywords=("akia", "asia"), min_entropy=3.5, tags=("provider", "aws"),
    ),
    keyed(
        "aws-session-token", "AWS session token next to an AWS key name",
        r"aws_?session_?token|aws_?security_?token|sessiontoken|x-amz-security-token",
        r"[A-Za-z0-9/+]{100,2000}={0,2}",
        ("session_token", "sessiontoken", "security_token", "security-token"),
        end=END_B64, min_entropy=4.0, tags=("aws",),
    ),
    prefixed(
        "aws-session-token-literal", "AWS STS session token by its encoded header",
        r"(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdz)[A-Za-z0-9/+]{100,2000}={0,2}",
        ("iqojb3jpz2lux2vj", "fwogzxivyxdz"), end=END_B64, tags=("aws",),
    ),
    prefixed(
        "aws-bedrock-api-key", "Amazon Bedrock long-term API key",
        r"ABSKQmVkcm9ja0FQSUtleS[A-Za-z0-9+/]{100,2100}={0,2}", ("absk",), end=END_B64,
        tags=("aws",),
    ),
    prefixed(
        "aws-mws-auth-token", "Amazon Marketplace Web Service auth token",
        r"amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ("amzn.mws.",), tags=("aws",),
    ),
)
