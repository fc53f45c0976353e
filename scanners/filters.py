"""Values that look like secrets but are not: placeholders, documented examples, benign data.

Two tiers, both pure functions of the candidate value:
- `is_placeholder` applies to every rule unless it sets `skip_filters`: template variables,
  "your key here" text, masked values, repeated characters and keyboard/alphabet runs, and the
  example keys providers print in their documentation. A random token hits none of these by
  chance (a run of six equal or consecutive characters is ~1e-9 per position in base62).
- `is_benign` applies only to generic key-name rules (tag "generic"), whose values have no
  format of their own: UUIDs, hex digests and git SHAs, file paths, plain URLs, numbers,
  identifiers and common words are what `token: ...` or `password = ...` usually hold in code
  and logs when they are not secrets.
"""

from __future__ import annotations

import itertools
import re

# Example credentials printed in provider documentation; never real, always copied around.
DOCUMENTED_EXAMPLES: frozenset[str] = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "AKIAI44QH8DHBEXAMPLE",
        "ASIAIOSFODNN7EXAMPLE",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
        "pk_test_TYooMQauvdEDq54NiTphI7jx",
        "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
        "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",
        "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
        "y_NbAkKc66ryYTWUXYEu",
        # RFC 6749 / 6750 examples (OAuth 2.0): access, refresh, code, Basic client creds.
        "2YotnFZFEjr1zCsicMWpAA",
        "tGzv3JOkF0XG5Qx2TlKWIA",
        "SplxlOBeZQQYbYS6WxSbIA",
        "czZCaGRSa3F0MzpnWDFmQmF0M2JW",
        "mF_9.B5f-4.1JqM",
        # jwt.io's example token.
        ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
        "aWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    }
)

_TEMPLATE = re.compile(
    r"\$\{|\{\{|\}\}|\$\(|%\(|#\{|\{%|<%|^\$[A-Za-z_]|^%[A-Za-z_]+%$|^<[^<>]*>$|^\[[^\[\]]*\]$"
    # str.format / f-string fields (`{password}`, `{self.token!r}`) and a placeholder inside a
    # value (`shppa_<private-app-password>`): nobody writes a real secret like that.
    r"|^\{[A-Za-z_][A-Za-z0-9_.]*(?:\[[^\[\]{}]*\])?(?:![rsa])?(?::[^{}]*)?\}$"
    r"|<[A-Za-z][A-Za-z0-9_ -]{2,}>"
)
_MARKERS = re.compile(
    r"example|placeholder|change[_-]?me|changeit|your[_-]?(?:own|api|access|secret|token|key"
    r"|pass|client|app|auth|private|[a-z]+[_-]?(?:key|token|secret|password))|_here\b|here_"
    r"|redacted|masked|dummy|fake|sample|xxxx|\*\*\*|\.\.\.|replace[_-]?(?:me|with|this)"
    r"|insert[_-]?(?:your|key|token|here)|not[_-]?a[_-]?real|notreal|qwerty|asdfgh|lorem|ipsum"
    r"|todo|fixme|foobar|mysecret|mypassword|secret[_-]?(?:key|value)[_-]?here",
    re.IGNORECASE,
)
_REPEAT = re.compile(r"(.)\1{5}")


def _longest_step_run(value: str) -> int:
    """Longest run of characters whose code points go up (or down) by exactly one."""
    best = run_up = run_down = 1
    for a, b in itertools.pairwise(value):
        step = ord(b) - ord(a)
        run_up = run_up + 1 if step == 1 else 1
        run_down = run_down + 1 if step == -1 else 1
        best = max(best, run_up, run_down)
    return best


_NEXT = bytes(range(1, 256)) + b"\0"  # each byte -> the byte one above it
_STEP_RUN = b"\0" * 5  # five equal neighbour pairs: six characters in steps of one


def has_step_run(value: str) -> bool:
    """A run of six characters going up (or down) by one (`abcdef`, `987654`): what
    `_longest_step_run(value) >= 6` says, computed without a Python loop for ASCII values (a
    placeholder check runs on every candidate)."""
    if not value.isascii():
        return _longest_step_run(value) >= 6
    if len(value) < 6:
        return False
    data = value.encode("ascii")
    n = len(data) - 1
    head, tail = int.from_bytes(data[:-1], "big"), int.from_bytes(data[1:], "big")
    # A zero byte in the XOR marks a neighbour pair whose second byte is one above (below) the
    # first; ASCII never wraps at 255.
    up = int.from_bytes(data[:-1].translate(_NEXT), "big") ^ tail
    down = head ^ int.from_bytes(data[1:].translate(_NEXT), "big")
    return _STEP_RUN in up.to_bytes(n, "big") or _STEP_RUN in down.to_bytes(n, "big")


def is_documented_example(value: str) -> bool:
    return value in DOCUMENTED_EXAMPLES or any(ex in value for ex in DOCUMENTED_EXAMPLES)


def is_placeholder(value: str) -> bool:
    """True for template variables, example text, masks and low-variety strings."""
    if is_documented_example(value) or _TEMPLATE.search(value) or _MARKERS.search(value):
        return True
    if "EXAMPLE" in value:
        return True
    if _REPEAT.search(value) or has_step_run(value):
        return True
    return len(value) >= 8 and len(set(value)) <= 3


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_DIGEST = re.compile(r"(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})|"
                         r"(?:[0-9A-F]{32}|[0-9A-F]{40}|[0-9A-F]{64}|[0-9A-F]{128})")
_ALGO_DIGEST = re.compile(r"(?:sha(?:1|224|256|384|512)|md5|blake2b?)[:=-][A-Za-z0-9+/=_-]{16,}",
                          re.IGNORECASE)
_PATH = re.compile(
    r"(?:/|\./|\.\./|~/|[A-Za-z]:\\|file://)\S*"
    r"|\S+\.(?:pem|key|crt|cer|der|json|ya?ml|txt|p12|pfx|jks|env|cfg|conf|ini|toml|gpg|asc|pub)"
)
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^@\s]*", re.IGNORECASE)
_NUMBERISH = re.compile(r"[0-9.:,_ +-]+|v?\d+(?:\.\d+){1,3}(?:[-+][0-9A-Za-z.]+)?")
# `$` only opens a segment (`$scope`, `$.data`): inside one (`Winter$55372`) it is what a
# person types into a password, not part of a name.
_DOTTED_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_]*(?:[.:-][A-Za-z_$][A-Za-z0-9_]*)*")
# Structured identifiers that name a secret rather than hold one: AWS ARNs, URNs.
_STRUCTURED_ID = re.compile(r"(?:arn|urn):[A-Za-z0-9._-]+:\S+", re.IGNORECASE)
# Characters people add to a chosen password; `_ - . :` also join names, so they do not count.
_PASSWORD_SYMBOL = re.compile(r"[!@#$%^&*+=?~|]")
_TITLE_KEBAB = re.compile(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)+")
_VOWEL = re.compile(r"[aeiouyAEIOUY]")
_NAME_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
# Code and references; `_CODE_REF` without the leading sigils (`!important`, `&anchor`,
# `*alias`), which people also put at the start of a chosen password (`!cw4Tb...`).
_CODE_REF = re.compile(
    r"[()\[\]{}]|\b(?:os\.environ|getenv|process\.env|ENV\[|secrets\.)"
    r"|^(?:self|this|cls|os|settings|config|conf|cfg|env|request|req|process|params|args|opts"
    r"|options|ctx|context|app|vars|values|props|data|form|creds|credentials)\.[A-Za-z_]"
)
_CODE = re.compile(
    r"[()\[\]{}]|^[@&*!]|\b(?:os\.environ|getenv|process\.env|ENV\[|secrets\.)"
    r"|^(?:self|this|cls|os|settings|config|conf|cfg|env|request|req|process|params|args|opts"
    r"|options|ctx|context|app|vars|values|props|data|form|creds|credentials)\.[A-Za-z_]"
)

COMMON_WORDS: frozenset[str] = frozenset(
    [
        "true", "false", "null", "nil", "none", "undefined", "required", "optional", "string",
        "str", "bytes", "int", "bool", "secret", "secrets", "password", "passwords", "passwd",
        "token", "tokens", "default", "empty", "unset", "hidden", "env", "vault", "kms", "sops",
        "base64", "encrypted", "disabled", "enabled", "yes", "no", "on", "off", "auto", "bearer",
        "basic", "oauth", "oauth2", "jwt", "admin", "admin123", "root", "toor", "letmein",
        "welcome", "guest", "test", "test123", "testing", "pass", "pass123", "password1",
        "password123", "passw0rd", "p@ssw0rd", "p@ssword", "secret123", "hunter2", "12345678",
        "123456789", "abc123", "s3cr3t", "s3cret", "foobar123", "postgres", "mysql", "redis",
        "rabbitmq", "guestguest",
    ]
)


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def is_hex_digest(value: str) -> bool:
    """A bare md5/sha1/git/sha256/sha512 hex digest, or one with an algorithm prefix."""
    return _HEX_DIGEST.fullmatch(value) is not None or _ALGO_DIGEST.fullmatch(value) is not None


def is_code_name(value: str) -> bool:
    """A name, type, attribute path or constant (`secretRef`, `Ed25519PrivateKey`,
    `settings.SECRET_KEY`): made of word-sized parts, where a random token (even one of
    letters only) breaks into many one- or two-letter runs."""
    if _DOTTED_NAME.fullmatch(value) is None:
        return False
    parts = _NAME_PART.findall(value)
    if not parts:
        return False
    # An attribute path or kebab name (`_t.AuthType`, `my-app-tls`) is a name even with short
    # segments; a random token split on `-`/`_` breaks into far shorter parts.
    floor = 2.5 if any(sep in value for sep in ".:-_") else 3.5
    # kebab-case and snake_case names keep one case (`my-app-tls`, `DB_PASSWORD`, `x_y`);
    # `hunter2-Xq9` does not.
    if "." not in value and ("-" in value or "_" in value.strip("_")):
        letters_only = "".join(c for c in value if c.isalpha())
        if not (letters_only.islower() or letters_only.isupper()
                or _TITLE_KEBAB.fullmatch(value) is not None):  # `Access-Control-Allow-Origin`
            return False
    if sum(map(len, parts)) / len(parts) < floor:
        return False
    # Words have vowels (about 40% of letters in English names, 23% in random letters, for
    # which the part-length floor does most of the work); allow one abbreviation (`Mgr`) and
    # any number of all-caps acronyms (`HTTPPasswordMgr`, `MLKEM`).
    voweless = [p for p in parts
                if len(p) >= 3 and p.isalpha() and not _VOWEL.search(p) and not p.isupper()]
    letters = "".join(p for p in parts if p.isalpha() and p not in voweless and not p.isupper())
    return len(voweless) <= 1 and len(_VOWEL.findall(letters)) >= 0.2 * len(letters)


def is_benign(value: str) -> bool:
    """True for the non-secret data a secret-looking key commonly holds."""
    lowered = value.lower()
    return (
        lowered in COMMON_WORDS
        or is_uuid(value)
        or is_hex_digest(value)
        or _PATH.fullmatch(value) is not None
        or _URL.fullmatch(value) is not None
        # A literal that only opens a concatenation (`"allowed-" + token_hex(4)`) is a name.
        or is_code_name(value.rstrip("-_:/."))
        or _NUMBERISH.fullmatch(value) is not None
        or _STRUCTURED_ID.fullmatch(value) is not None
        or _CODE.search(value) is not None
    )


def is_chosen_password(value: str) -> bool:
    """Shaped like a password a person chose (`Winter2023`, `Falcon#4821`): letters and digits
    and either both cases or a symbol, and no attribute path (`settings.Db2`)."""
    if "." in value or not any(c.isdigit() for c in value):
        return False
    lower = any(c.islower() for c in value)
    upper = any(c.isupper() for c in value)
    return (lower or upper) and ((lower and upper) or _PASSWORD_SYMBOL.search(value) is not None)


def is_benign_password(value: str) -> bool:
    """`is_benign` for values under an unmistakable password key: there a name-shaped value
    with digits and mixed case or a symbol is a chosen password, not an identifier."""
    if is_chosen_password(value):
        return (value.lower() in COMMON_WORDS or _NUMBERISH.fullmatch(value) is not None
                or _CODE_REF.search(value) is not None or _PATH.fullmatch(value) is not None
                or _URL.fullmatch(value) is not None
                or _STRUCTURED_ID.fullmatch(value) is not None)
    return is_benign(value)


# Words that, anywhere in a key name, say it holds something other than a secret.
_METADATA_PARTS = frozenset(
    [
        "page", "next", "cursor", "continuation", "sync", "cancel", "cancellation", "resume",
        "csrf", "xsrf", "forgot", "reset", "hash", "hashed", "digest", "length", "len", "min",
        "max", "policy", "num", "total", "prompt", "completion", "public", "publishable", "pub",
        "type", "kind", "label", "field", "name", "file", "path", "placeholder", "expire",
        "expires", "expiry", "usage", "count", "limit", "url", "uri", "endpoint", "header", "regex",
        "pattern", "hint", "validation", "strength", "idempotency", "starting", "change",
    ]
)
# The same, for run-together names (`csrftoken`, `nextpagetoken`); only words that cannot
# hide inside an innocent one (unlike `count` in `account`).
_METADATA_SUBSTRINGS = re.compile(
    r"csrf|xsrf|nextpage|pagetoken|continuation|cursor|hash|digest|publickey|publishable"
)
_KEY_PART = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def is_metadata_key(key: str) -> bool:
    """A key name about a secret rather than holding one (`next_page_token`, `password_hash`,
    `public_key`, `csrftoken`), judged by its camelCase/snake_case parts."""
    parts = {part.lower() for part in _KEY_PART.findall(key)}
    return bool(parts & _METADATA_PARTS) or _METADATA_SUBSTRINGS.search(key.lower()) is not None
