"""GitHub: classic tokens with their CRC32 checksum, fine-grained PATs, OAuth app secrets."""

from __future__ import annotations

from scanners.checksums import has_crc32_base62_suffix
from scanners.rule import Rule
from scanners.rules.shapes import keyed, prefixed


def _classic(prefix: str, kind: str) -> Rule:
    return prefixed(
        f"github-{kind}", f"GitHub {kind.replace('-', ' ')} ({prefix})",
        prefix + r"[0-9A-Za-z]{36}", (prefix,), validate=has_crc32_base62_suffix,
        tags=("github",),
    )


RULES: tuple[Rule, ...] = (
    _classic("ghp_", "personal-access-token"),
    _classic("gho_", "oauth-access-token"),
    _classic("ghu_", "user-to-server-token"),
    _classic("ghs_", "server-to-server-token"),
    _classic("ghr_", "refresh-token"),
    prefixed("github-fine-grained-pat", "GitHub fine-grained personal access token",
             r"github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59}", ("github_pat_",),
             tags=("github",)),
    keyed("github-oauth-client-secret", "GitHub OAuth app client secret next to its key name",
          r"github_?(?:oauth_?)?client_?secret", r"[0-9a-f]{40}", ("github",),
          tags=("github",)),
)
