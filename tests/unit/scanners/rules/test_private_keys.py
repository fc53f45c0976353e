"""Private-key rules: the whole block is the secret; stubs and public keys are not."""

from __future__ import annotations

import json

from tests.unit.scanners.rules.synth import B64, HEX, Case, check, keyword_in_match, params, synth


def pem(label: str, salt: str, lines: int = 8, headers: str = "") -> str:
    body = "\n".join(synth(B64, 64, f"{salt}{i}") for i in range(lines))
    return f"-----BEGIN {label}-----\n{headers}{body}\n-----END {label}-----"


RSA = pem("RSA PRIVATE KEY", "rsa")
RSA_LEGACY = pem("RSA PRIVATE KEY", "rsa-enc",
                 headers="Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
                 + synth(HEX, 32, "iv").upper() + "\n\n")
EC = pem("EC PRIVATE KEY", "ec", 3)
DSA = pem("DSA PRIVATE KEY", "dsa", 10)
OPENSSH = pem("OPENSSH PRIVATE KEY", "openssh", 6)
PKCS8 = pem("PRIVATE KEY", "pkcs8", 12)
ENCRYPTED = pem("ENCRYPTED PRIVATE KEY", "encpk", 12)
PGP = pem("PGP PRIVATE KEY BLOCK", "pgp", 20, headers="Version: GnuPG v2\n\n")
SSH2 = "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----"  # SSH.com uses four dashes and spaces
SSH2_DASHED = pem("SSH2 ENCRYPTED PRIVATE KEY", "ssh2", 6)
PUTTY = ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\n"
         "Public-Lines: 2\n" + synth(B64, 64, "pp1") + "\n" + synth(B64, 20, "pp2") + "\n"
         "Private-Lines: 1\n" + synth(B64, 44, "pp3") + "\nPrivate-MAC: " + synth(HEX, 64, "mac"))
PUTTY_SECRET = PUTTY
ESCAPED = json.dumps(PKCS8 + "\n")[1:-1]
ESCAPED_RSA = json.dumps(RSA)[1:-1]
STUB = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----"
PUBLIC = pem("PUBLIC KEY", "pub")

CASES: list[Case] = [
    ("private-key-rsa", f"key = '''\n{RSA}\n'''", RSA),
    ("private-key-rsa", f"log: loaded\n{RSA_LEGACY}\ndone", RSA_LEGACY),
    ("private-key-rsa", STUB, None),
    ("private-key-rsa", RSA.replace("-----END RSA PRIVATE KEY-----", ""), None),
    ("private-key-ec", EC, EC),
    ("private-key-ec", EC.replace("EC PRIVATE", "EC PARAMETERS PRIVATE"), None),
    ("private-key-dsa", DSA, DSA),
    ("private-key-dsa", DSA.replace("BEGIN DSA", "BEGIN DSA PUBLIC"), None),
    ("private-key-openssh", f"$ cat ~/.ssh/id_ed25519\n{OPENSSH}\n$", OPENSSH),
    ("private-key-openssh", ("-----BEGIN OPENSSH PRIVATE KEY-----\n<your key>\n"
     "-----END OPENSSH PRIVATE KEY-----"), None),
    ("private-key-pkcs8", PKCS8, PKCS8),
    ("private-key-pkcs8", PUBLIC, None),
    ("private-key-encrypted", ENCRYPTED, ENCRYPTED),
    ("private-key-encrypted", ENCRYPTED.replace("ENCRYPTED PRIVATE KEY-----\n",
                                                "ENCRYPTED PRIVATE KEY-----\n...\n", 1), None),
    ("private-key-pgp", PGP, PGP),
    ("private-key-pgp", PGP.replace("PRIVATE KEY BLOCK", "PUBLIC KEY BLOCK"), None),
    ("private-key-ssh2", SSH2_DASHED, SSH2_DASHED),
    ("private-key-ssh2", SSH2, None),
    ("private-key-putty", PUTTY, PUTTY_SECRET),
    ("private-key-putty", PUTTY.replace("Private-MAC: ", "Private-Hash: "), None),
    ("private-key-escaped", f'{{"key": "{ESCAPED}"}}', ESCAPED[:-2]),
    ("private-key-escaped", f'TLS_KEY="{ESCAPED_RSA}"', ESCAPED_RSA),
    ("private-key-escaped", ('"key": "-----BEGIN PRIVATE KEY-----\\nMIIE...\\n'
     '-----END PRIVATE KEY-----"'), None),
]


@params(CASES)
def test_private_key_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each private-key rule reports the whole block and ignores stubs and public keys."""
    check(rule_id, line, secret)


def test_escaped_key_with_crlf_escapes() -> None:
    """A key escaped from a CRLF file (`\\r\\n`) is found whole, and its keyword is present."""
    escaped = json.dumps(PKCS8.replace("\n", "\r\n"))[1:-1]
    line = f'"key": "{escaped}"'
    check("private-key-escaped", line, escaped)
    assert keyword_in_match("private-key-escaped", line)
