"""Sluice and detect-secrets on the same files: where Sluice finds more and flags less.

detect-secrets runs through its Python API (no verification, no network). The fixtures hold
real-format secrets of providers detect-secrets has no plugin for, and the noise of real logs
and configs that its entropy and keyword plugins flag: git SHAs, digests, base64 blobs,
placeholders, documented example keys and public IP addresses.
"""

from __future__ import annotations

import secrets
import string
from pathlib import Path

import pytest

from scanners.artifacts import scan_paths
from scanners.engine import Engine
from scanners.rules import ALL_RULES
from tests.unit.scanners.samples import aws_key_id, ec_private_key, github_pat, slack_webhook

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def fixtures(root: Path) -> tuple[dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    """Write the files; return {kind: (file, line)} of secrets and of decoys."""
    both = {
        "github": github_pat(),
        "aws-key-id": aws_key_id(),
        "slack-webhook": slack_webhook(),
    }
    sluice_only = {
        "anthropic": "sk-ant-api03-" + rand(ALNUM + "-_", 93) + "AA",
        "huggingface": "hf_" + rand(string.ascii_letters, 34),
        "openbao-service": "s." + rand(ALNUM, 24),
        "vault-service": "hvs.CAESI" + rand(ALNUM + "-_", 86),
        "databricks": "dapi" + rand(HEX, 32),
        "digitalocean": "dop_v1_" + rand(HEX, 64),
        "shopify": "shpat_" + rand(HEX, 32),
        "gitlab-runner": "glrt-" + rand(ALNUM + "-_", 20),
    }
    secret_lines = {
        "github": f"+ git clone https://x-access-token:{both['github']}@github.com/acme/app.git",
        "aws-key-id": f"AWS_ACCESS_KEY_ID={both['aws-key-id']}",
        "slack-webhook": f'{{"level":"warn","webhook":"{both["slack-webhook"]}"}}',
        "anthropic": f"ANTHROPIC_API_KEY={sluice_only['anthropic']}",
        "huggingface": f"HF_TOKEN={sluice_only['huggingface']}",
        "openbao-service": f"+ curl -H 'X-Vault-Token: {sluice_only['openbao-service']}' http://127.0.0.1:8200/v1/kv/app",
        "vault-service": f"VAULT_TOKEN={sluice_only['vault-service']}",
        "databricks": f"databricks configure --token {sluice_only['databricks']}",
        "digitalocean": f"DIGITALOCEAN_ACCESS_TOKEN={sluice_only['digitalocean']}",
        "shopify": f"SHOPIFY_TOKEN={sluice_only['shopify']}",
        "gitlab-runner": f"CI_RUNNER_TOKEN={sluice_only['gitlab-runner']}",
    }
    decoy_lines = {
        "git-sha": '{"msg":"deployed","commit":"3f786850e387550fdab836ed7e6dc881de23001b"}',
        "digest": '{"image":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}',
        "base64-blob": '{"cursor":"eyJvZmZzZXQiOjQwMCwibGltaXQiOjEwMCwic29ydCI6ImFzYyJ9Cg=="}',
        "placeholder": 'password = "changeme"',
        "example-key": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "public-ip": '{"remote_addr":"34.117.59.81","status":200}',
        "md5-etag": '{"etag":"d41d8cd98f00b204e9800998ecf8427e"}',
    }
    lines: list[str] = ["2026-11-24T01:00:00Z job started"]
    where_secret: dict[str, tuple[str, int]] = {}
    where_decoy: dict[str, tuple[str, int]] = {}
    for kind, text in secret_lines.items():
        lines.append(text)
        where_secret[kind] = ("ci.log", len(lines))
    for kind, text in decoy_lines.items():
        lines.append(text)
        where_decoy[kind] = ("ci.log", len(lines))
    (root / "ci.log").write_text("\n".join(lines) + "\n")
    pem = ec_private_key()
    (root / "deploy.env").write_text("# deploy key\nSSH_KEY=\n" + pem)
    where_secret["private-key"] = ("deploy.env", 3)
    return where_secret, where_decoy


def detect_secrets_lines(root: Path) -> set[tuple[str, int]]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    with default_settings():
        collection = SecretsCollection()
        for path in sorted(root.iterdir()):
            collection.scan_file(str(path))
        return {(Path(f).name, s.line_number) for f, s in collection}


def sluice_lines(root: Path) -> set[tuple[str, int]]:
    result = scan_paths(Engine(ALL_RULES), [str(root)])
    return {(Path(f.file).name, f.line) for f in result.findings}


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("compare")
    where_secret, where_decoy = fixtures(root)
    return {
        "secret": where_secret,
        "decoy": where_decoy,
        "sluice": sluice_lines(root),
        "ds": detect_secrets_lines(root),
    }


def test_sluice_finds_every_secret_and_no_decoy(compared: dict[str, object]) -> None:
    """Sluice reports each secret's line and none of the decoy lines."""
    found = compared["sluice"]
    secret = compared["secret"]
    decoy = compared["decoy"]
    assert isinstance(found, set) and isinstance(secret, dict) and isinstance(decoy, dict)
    assert {kind for kind, where in secret.items() if where not in found} == set()
    assert {kind for kind, where in decoy.items() if where in found} == set()


def test_sluice_finds_secrets_detect_secrets_misses(compared: dict[str, object]) -> None:
    """Provider formats detect-secrets has no plugin for are missed by it and found by Sluice."""
    ds, secret = compared["ds"], compared["secret"]
    assert isinstance(ds, set) and isinstance(secret, dict)
    missed_by_ds = {kind for kind, where in secret.items() if where not in ds}
    assert missed_by_ds >= {"anthropic", "huggingface", "openbao-service", "databricks", "shopify"}
    # ...while both find the formats detect-secrets knows.
    assert {kind for kind in ("github", "aws-key-id", "slack-webhook", "private-key") if secret[kind] in ds} == {
        "github", "aws-key-id", "slack-webhook", "private-key"
    }


def test_detect_secrets_flags_noise_sluice_leaves_alone(compared: dict[str, object]) -> None:
    """detect-secrets flags SHAs, blobs, placeholders and example keys; Sluice flags none."""
    ds, decoy = compared["ds"], compared["decoy"]
    assert isinstance(ds, set) and isinstance(decoy, dict)
    flagged_by_ds = {kind for kind, where in decoy.items() if where in ds}
    assert flagged_by_ds >= {"git-sha", "base64-blob", "placeholder", "example-key"}
