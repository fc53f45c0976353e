"""GitHub rules: classic tokens only with a valid CRC32 checksum; fine-grained PATs."""

from __future__ import annotations

from scanners.checksums import crc32_base62, has_crc32_base62_suffix
from tests.unit.scanners.rules.synth import (
    ALNUM,
    HEX,
    Case,
    break_checksum,
    check,
    crc_token,
    params,
    synth,
)

PAT, OAUTH, U2S, S2S, REFRESH = (crc_token(p, p) for p in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"))
FINE = "github_pat_" + synth(ALNUM, 22, "fg1") + "_" + synth(ALNUM, 59, "fg2")
CLIENT_SECRET = synth(HEX, 40, "gh-oauth")

CASES: list[Case] = [
    ("github-personal-access-token", f"GITHUB_TOKEN={PAT}", PAT),
    ("github-personal-access-token", f"git clone https://x:{PAT}@github.com/o/r", PAT),
    ("github-personal-access-token", f"GITHUB_TOKEN={break_checksum(PAT)}", None),
    ("github-personal-access-token", f"GITHUB_TOKEN=ghx_{PAT[4:]}", None),
    ("github-oauth-access-token", f"token {OAUTH}", OAUTH),
    ("github-oauth-access-token", f"token {break_checksum(OAUTH)}", None),
    ("github-user-to-server-token", f'"token": "{U2S}"', U2S),
    ("github-user-to-server-token", f'"token": "{U2S[:-1]}"', None),
    ("github-server-to-server-token", f"x-access-token:{S2S}@github.com", S2S),
    ("github-server-to-server-token", f"x-access-token:{break_checksum(S2S)}@github.com", None),
    ("github-refresh-token", f"refresh_token={REFRESH}&grant_type=refresh_token", REFRESH),
    ("github-refresh-token", f"refresh_token={REFRESH}abc", None),
    ("github-fine-grained-pat", f"GH_TOKEN={FINE}", FINE),
    ("github-fine-grained-pat", f"GH_TOKEN={FINE[:-10]}", None),
    ("github-oauth-client-secret", f"GITHUB_CLIENT_SECRET={CLIENT_SECRET}", CLIENT_SECRET),
    ("github-oauth-client-secret", f"GITHUB_SHA={CLIENT_SECRET}", None),
]


@params(CASES)
def test_github_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each GitHub rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)


def test_checksum_matches_independent_implementation() -> None:
    """The scanner's checksum agrees with the test's own CRC32/base62 construction."""
    token = crc_token("ghp_", "independent")
    assert crc32_base62(token[4:-6]) == token[-6:]
    assert has_crc32_base62_suffix(token)
    assert not has_crc32_base62_suffix(break_checksum(token))
    assert not has_crc32_base62_suffix(token[:-1])
