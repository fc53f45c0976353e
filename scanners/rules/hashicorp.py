"""Vault, OpenBao, Terraform Cloud, Pulumi, age, Doppler: infrastructure secret tooling.

OpenBao's service (`s.` + 24) and batch (`b.` + ~150) tokens are too short a prefix to
trust alone: they count only after a token-ish key name (`VAULT_TOKEN=`, `X-Vault-Token:`).
"""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import keyed, prefixed

_TOKEN_KEY = (r"(?:vault|bao|openbao)[_.-]?token|x-(?:vault|bao)-token|client[_.-]?token"
              r"|token")
_TOKEN_KEYWORDS = ("token",)
_V = ("vault",)

RULES: tuple[Rule, ...] = (
    prefixed("vault-service-token", "HashiCorp Vault service token (hvs.)",
             r"hvs\.[A-Za-z0-9_-]{24,300}", ("hvs.",), tags=_V),
    prefixed("vault-batch-token", "HashiCorp Vault batch token (hvb.)",
             r"hvb\.[A-Za-z0-9_-]{100,400}", ("hvb.",), tags=_V),
    prefixed("vault-recovery-token", "HashiCorp Vault recovery token (hvr.)",
             r"hvr\.[A-Za-z0-9_-]{24,300}", ("hvr.",), tags=_V),
    keyed("openbao-service-token", "OpenBao/legacy Vault service token next to a token name",
          _TOKEN_KEY, r"s\.[A-Za-z0-9]{24}", _TOKEN_KEYWORDS, min_entropy=3.5, tags=_V),
    keyed("openbao-batch-token", "OpenBao/legacy Vault batch token next to a token name",
          _TOKEN_KEY, r"b\.[A-Za-z0-9_-]{120,200}", _TOKEN_KEYWORDS, min_entropy=4.0, tags=_V),
    prefixed("terraform-cloud-token", "Terraform Cloud / Enterprise API token",
             r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}", ("atlasv1",), tags=_V),
    prefixed("pulumi-access-token", "Pulumi access token", r"pul-[a-f0-9]{40}", ("pul-",),
             tags=_V),
    prefixed("age-secret-key", "age encryption secret key",
             r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", ("age-secret-key-1",),
             end=r"\b", tags=_V),
    prefixed("doppler-token", "Doppler personal, service, CLI, SCIM or audit token",
             r"dp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9_-]{40,44}",
             ("dp.pt.", "dp.st.", "dp.ct.", "dp.sa.", "dp.scim.", "dp.audit."), tags=_V),
    prefixed("infisical-token", "Infisical service or universal-auth token",
             r"st\.[a-f0-9-]{36}\.[a-f0-9]{32}\.[a-f0-9]{32}", ("st.",), tags=_V),
    prefixed("onepassword-service-account-token", "1Password service account token",
             r"ops_eyJ[A-Za-z0-9+/]{100,1500}={0,3}", ("ops_eyj",), end=r"(?:[^A-Za-z0-9+/=]|$)",
             tags=_V),
    prefixed("onepassword-secret-key", "1Password account secret key",
             r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}"
             r"-[A-Z0-9]{5}", ("a3-",), tags=_V),
)
