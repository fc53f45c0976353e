"""Private keys: PEM blocks (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP), PuTTY, escaped PEM.

The whole block, BEGIN line to END line, is the secret: redacting only a part of a key
would still leak most of it. Bodies are bounded (12 kB covers RSA-8192 and PGP bundles)
and must decode as base64, so documentation stubs (`MIIE...`) do not count.
"""

from __future__ import annotations

from scanners.rule import Rule
from scanners.structures import is_pem_block

_BODY = r"[A-Za-z0-9+/=\s:,-]{64,12000}?"


def _pem(kind: str, label: str, description: str) -> Rule:
    return Rule(
        id=f"private-key-{kind}",
        description=description,
        pattern=rf"-----BEGIN {label}-----{_BODY}-----END {label}-----",
        keywords=(f"begin {label.lower()}",),
        multiline=True, skip_filters=True, validate=is_pem_block,
        tags=("provider", "private-key"),
    )


RULES: tuple[Rule, ...] = (
    _pem("rsa", "RSA PRIVATE KEY", "PEM RSA private key (PKCS#1)"),
    _pem("ec", "EC PRIVATE KEY", "PEM elliptic-curve private key (SEC1)"),
    _pem("dsa", "DSA PRIVATE KEY", "PEM DSA private key"),
    _pem("openssh", "OPENSSH PRIVATE KEY", "OpenSSH private key"),
    _pem("pkcs8", "PRIVATE KEY", "PEM PKCS#8 private key"),
    _pem("encrypted", "ENCRYPTED PRIVATE KEY", "PEM encrypted PKCS#8 private key"),
    _pem("pgp", "PGP PRIVATE KEY BLOCK", "ASCII-armored PGP private key block"),
    _pem("ssh2", "SSH2 ENCRYPTED PRIVATE KEY", "SSH.com (SSH2) private key"),
    Rule(
        id="private-key-putty",
        description="PuTTY private key file (the private lines and their MAC)",
        pattern=r"PuTTY-User-Key-File-[23]: [^\n]{1,64}\n.{0,2000}?"
        r"Private-Lines: [0-9]{1,3}\r?\n[A-Za-z0-9+/=\r\n]{32,12000}?Private-MAC: [0-9a-f]{40,64}",
        keywords=("putty-user-key-file",), multiline=True, skip_filters=True,
        tags=("provider", "private-key"),
    ),
    Rule(
        id="private-key-escaped",
        description="PEM private key escaped onto one line (JSON, env files, YAML strings)",
        pattern=r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----(?:\\r)?\\n"
        r"[A-Za-z0-9+/=\\]{64,12000}?-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?"
        r"PRIVATE KEY-----",
        keywords=("private key-----\\n", "private key-----\\r\\n"),
        skip_filters=True, validate=is_pem_block,
        tags=("provider", "private-key"),
    ),
)
