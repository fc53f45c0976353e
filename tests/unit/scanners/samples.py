"""Real-format secrets for end-to-end tests against the rule catalogue (made fresh each run)."""

from __future__ import annotations

import secrets
import string

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from scanners.checksums import crc32_base62

ALNUM = string.ascii_letters + string.digits


def rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def github_pat() -> str:
    body = rand(ALNUM, 30)
    return "ghp_" + body + crc32_base62(body)


def aws_key_id() -> str:
    return "AKIA" + rand(string.ascii_uppercase + "234567", 16)


def aws_secret() -> str:
    return rand(ALNUM + "+/", 40)


def slack_webhook() -> str:
    upper = string.ascii_uppercase + string.digits
    return f"https://hooks.slack.com/services/T{rand(upper, 10)}/B{rand(upper, 10)}/{rand(ALNUM, 24)}"


def ec_private_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
