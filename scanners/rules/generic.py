"""Generic rules: a secret-looking key name assigned a value, in any common syntax.

These have no value format to lean on, so they carry the tag "generic": the confirm stage
adds the benign-value filters (UUIDs, digests, paths, identifiers, common words), and the
engine drops a generic finding whose span overlaps a provider rule's finding. Keys that
merely contain a secret word but hold no secret (`next_page_token`, `password_hash`,
`public_key`) are refused by `_secret_key_name`; suffixed keys (`token_type`,
`password_file`) never match because the key must end right before the separator.
A bare `key:value` is only an assignment where a key can stand: not as one segment of a
colon- or slash-joined identifier (`arn:aws:secretsmanager:...:secret:prod/db`,
`urn:x:token:abc`, `vault/secret:name`), and not with a value that is itself colon-joined
(`token:file:/run/t`) unless whitespace follows the colon as YAML requires of a mapping.
"""

from __future__ import annotations

import re

from scanners import filters
from scanners.rule import Rule

_PASSWORD = r"(?:password|passwd|passphrase|pwd|(?:db|user|admin|root|smtp|mail|ftp|sql)_?pass)"
_SECRET = (r"(?:secret(?:[_.-]?key)?|token|api[_.-]?key|apikey|access[_.-]?key"
           r"|private[_.-]?key|auth"
           r"|credentials?|signing[_.-]?key|encryption[_.-]?key)")
_PASSWORD_WORDS = ("password", "passwd", "passphrase", "pwd", "pass")
_SECRET_WORDS = ("secret", "token", "api_key", "apikey", "api-key", "api.key", "access_key",
                 "accesskey", "access-key", "access.key", "private_key", "privatekey",
                 "private-key", "private.key", "auth", "credential", "signing", "encryption")
# Quoted value: code, JSON, YAML, TOML. No spaces: validation messages are not passwords.
_QUOTED = (r"\\?[\"'`]?\s{0,4}(?::=|=>|=|:)\s{0,4}[rbuf]?\\?[\"'`]"
           r"(?P<secret>[^\"'`\s\\]{6,256})\\?[\"'`]")
# Unquoted value: env files, INI, properties, YAML plain scalars, query strings.
_BARE = r"\s{0,4}(?:=|:)\s{0,4}(?P<secret>[^\s\"'`,;&=(){}\[\]<>:][^\s\"'`,;&]{5,255})"

_KEY_PREFIX = re.compile(r"[A-Za-z0-9_.-]{1,40}$")


def _secret_key_name(match: re.Match[str]) -> bool:
    """The whole key name (the pattern matches from the secret word on; a leading part such as
    `next_page_` is read back from the text) names a secret, not metadata about one, and is
    not the last part of a type path (`AWS::SecretsManager::Secret`, `crypto::SigningKey`)."""
    start = _key_start(match)
    if match.string[max(start - 2, 0) : start] == "::":
        return False
    return not filters.is_metadata_key(match.string[start : match.end("key")])


def _key_start(match: re.Match[str]) -> int:
    before = _KEY_PREFIX.search(match.string, max(0, match.start() - 40), match.start())
    return before.start() if before else match.start()


def _bare_assignment(match: re.Match[str]) -> bool:
    """A secret key name standing as a key, then its bare value (see the module docstring)."""
    if not _secret_key_name(match):
        return False
    text = match.string
    operator_at = match.end("key")
    secret_at = match.start("secret")
    if ":" not in text[operator_at:secret_at]:
        return True  # `=`: identifiers are not written `a:b=c`
    start = _key_start(match)
    if start and text[start - 1] in ":/":
        return False
    return text[secret_at - 1].isspace() or ":" not in match.group("secret")


def _mixed_charset(value: str) -> bool:
    """At least two of lower case, upper case and digits: tokens are not plain words."""
    classes = (any(c.islower() for c in value), any(c.isupper() for c in value),
               any(c.isdigit() for c in value))
    return sum(classes) >= 2


def _generic(id: str, description: str, pattern: str, keywords: tuple[str, ...],
             min_entropy: float, *, password: bool = False, **options: object) -> Rule:
    # "password": the key is an unmistakable password key, so confirm keeps values shaped like
    # a chosen password (`Winter2023`) that the benign filter would take for names.
    options.setdefault("validate_match", _secret_key_name)
    return Rule(id=id, description=description, pattern=pattern, keywords=keywords,
                min_entropy=min_entropy, tags=("generic", "password") if password else ("generic",),
                **options)  # type: ignore[arg-type]


RULES: tuple[Rule, ...] = (
    _generic("generic-password-quoted", "Password key assigned a quoted literal",
             rf"(?P<key>(?i:{_PASSWORD})){_QUOTED}", _PASSWORD_WORDS, 2.0, password=True),
    _generic("generic-password-unquoted", "Password key assigned a bare value (env, INI, YAML)",
             rf"(?P<key>(?i:{_PASSWORD})){_BARE}", _PASSWORD_WORDS, 2.0, password=True,
             validate_match=_bare_assignment),
    _generic("generic-secret-quoted", "Secret, token or API-key name assigned a quoted literal",
             rf"(?P<key>(?i:{_SECRET})){_QUOTED}", _SECRET_WORDS, 3.0,
             validate=_mixed_charset),
    _generic("generic-secret-unquoted", "Secret, token or API-key name assigned a bare value",
             rf"(?P<key>(?i:{_SECRET})){_BARE}", _SECRET_WORDS, 3.0,
             validate=_mixed_charset, validate_match=_bare_assignment),
    _generic("generic-cli-secret-flag", "Password, token or secret passed as a CLI flag",
             r"\s--(?P<key>(?i:(?:[a-z0-9]{1,20}-)?(?:password|passwd|pass|token|secret"
             r"|api-key|apikey|access-token|auth-token|client-secret|secret-key|private-key)))"
             r"(?:=|\s{1,3})[\"']?(?P<secret>[^\s\"'`$-][^\s\"'`]{5,255})",
             ("password", "passwd", "pass", "token", "secret", "apikey", "api-key",
              "private-key"), 2.0),
    _generic("generic-mysql-password-flag", "Password glued to mysql's -p flag",
             r"\b(?P<key>mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n|;&]{0,200}?"
             r"\s-p(?P<secret>[^\s\"'`-][^\s\"'`]{3,127})", ("mysql", "mariadb"), 2.0,
             password=True),
    _generic("generic-sshpass-password", "Password given to sshpass -p",
             r"\b(?P<key>sshpass)\s{1,3}-p\s{0,3}[\"']?(?P<secret>[^\s\"'`]{4,128})",
             ("sshpass",), 2.0, password=True),
    _generic("generic-xml-secret", "Secret-looking XML element",
             r"<(?P<key>[A-Za-z0-9_.:-]{0,40}(?i:password|secret|token|apikey|api_key))>"
             r"(?P<secret>[^<\s]{6,256})</", ("password", "secret", "token", "apikey", "api_key"),
             2.5),
)
