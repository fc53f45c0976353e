"""Per-session OpenBao ACL policies rendered from a rule's template and verified claims.

Invariants (the property tests hold the module to them):
- A template is checked once, at load time: placeholders are exactly ``{claims.NAME}``, they
  appear only inside the quoted path of a ``path "..." { ... }`` block, braces and brackets
  outside strings balance, and OpenBao's own ``{{...}}`` templating or HCL ``${...}``
  interpolation is refused, so the rendered text is the template with values pasted in.
- Every substituted value is one safe fragment of one path segment: ASCII letters, digits,
  ``-``, ``_``, ``.``; non-empty, bounded, never ``.`` alone, never containing ``..``. So a
  rendered policy names exactly the template's paths, with no extra segment, glob or block.
  Anything else raises :class:`UnsafeClaimValue` (code ``unsafe_claim_value``).
- Error messages name the claim and show at most a short, sanitised preview of its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from broker.errors import BrokerError

POLICY_PREFIX = "sluice-session-"
DEFAULT_MAX_VALUE_LEN = 128

_PLACEHOLDER = re.compile(r"\{claims\.([A-Za-z0-9_:-]+(?:\.[A-Za-z0-9_:-]+)*)\}")
_SAFE_VALUE = re.compile(r"[A-Za-z0-9._-]+")
_PATH_STRING = re.compile(r'\bpath\s+"([^"\\]*)"')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,96}")


class AclError(BrokerError):
    """Base of this module's errors (part of the ``broker.errors`` tree)."""

    code = "acl_error"
    status = 500
    default_message = "per-session policy could not be rendered"

    @property
    def http_status(self) -> int:
        return self.status


class UnsafeClaimValue(AclError):
    """A claim value would change the shape of a templated path (or is not a scalar)."""

    code, status = "unsafe_claim_value", 403
    default_message = "a claim value is not safe to place in a policy path"

    def __init__(self, claim: str, why: str, preview: str = "") -> None:
        self.claim = claim
        self.why = why
        shown = f" (value {preview})" if preview else ""
        super().__init__(f"claim {claim!r} cannot be used in a policy path: {why}{shown}")


class MissingClaim(AclError):
    """The template names a claim the verified token does not carry."""

    code, status = "missing_claim", 403
    default_message = "a claim the policy template needs is absent"

    def __init__(self, claim: str) -> None:
        self.claim = claim
        super().__init__(f"claim {claim!r} required by the policy template is absent")


class AclTemplateError(AclError):
    """The template itself is wrong: a configuration error found at load time."""

    code, status = "invalid_acl_template", 500
    default_message = "policy template is invalid"

    def __init__(self, field: str, why: str) -> None:
        self.field = field
        self.why = why
        super().__init__(f"{field}: {why}")


@dataclass(frozen=True)
class AclTemplate:
    """A checked template; build it with :func:`parse_acl_template`."""

    text: str
    field: str
    claims: tuple[str, ...]  # claim names, in order of first appearance
    paths: tuple[str, ...]  # the path strings, placeholders unexpanded


def parse_acl_template(text: str, *, field: str = "acl_template") -> AclTemplate:
    """Check an HCL policy template; raise :class:`AclTemplateError` naming ``field``."""
    if not text.strip():
        raise AclTemplateError(field, "template is empty")
    if any(ord(ch) > 126 or (ord(ch) < 32 and ch not in "\n\t\r") for ch in text):
        raise AclTemplateError(field, "template must be printable ASCII")
    claims: list[str] = []
    paths: list[str] = []
    depth: list[str] = []
    pairs = {"}": "{", "]": "["}
    i, n = 0, len(text)
    last_word = ""
    while i < n:
        ch = text[i]
        if ch == "#" or text.startswith("//", i):
            i = _skip_to(text, i, "\n", field, allow_eof=True)
        elif text.startswith("/*", i):
            i = _skip_to(text, i + 2, "*/", field, allow_eof=False)
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise AclTemplateError(field, f"unterminated string at offset {i}")
            body = text[i + 1 : end]
            in_path = last_word == "path" and not depth
            _check_string(body, in_path, field, claims)
            if in_path:
                paths.append(body)
            last_word = ""
            i = end + 1
        elif ch in "{[":
            depth.append(ch)
            last_word = ""
            i += 1
        elif ch in "}]":
            if not depth or depth.pop() != pairs[ch]:
                raise AclTemplateError(field, f"unbalanced {ch!r} at offset {i}")
            i += 1
        elif ch.isalpha() or ch == "_":
            m = _WORD.match(text, i)
            assert m is not None
            last_word = m.group(0)
            i = m.end()
        else:
            if not ch.isspace():
                last_word = ""
            i += 1
    if depth:
        raise AclTemplateError(field, f"unbalanced {depth[-1]!r}: not closed")
    if not paths:
        raise AclTemplateError(field, 'template has no path "..." block')
    if set(_PLACEHOLDER.findall(text)) != set(claims):
        raise AclTemplateError(field, "placeholders are allowed only in path strings")
    return AclTemplate(text=text, field=field, claims=tuple(claims), paths=tuple(paths))


def _skip_to(text: str, start: int, end_marker: str, field: str, *, allow_eof: bool) -> int:
    end = text.find(end_marker, start)
    if end < 0:
        if allow_eof:
            return len(text)
        raise AclTemplateError(field, "unterminated comment")
    return end + len(end_marker)


def _check_string(body: str, in_path: bool, field: str, claims: list[str]) -> None:
    if "\\" in body:
        raise AclTemplateError(field, "escape sequences are not allowed in strings")
    if "{{" in body or "${" in body or "%{" in body:
        raise AclTemplateError(field, "only {claims.NAME} placeholders are allowed in strings")
    stripped = _PLACEHOLDER.sub("", body)
    if "{" in stripped or "}" in stripped:
        raise AclTemplateError(
            field, f"unknown placeholder or unbalanced brace in string {body[:60]!r}"
        )
    found = _PLACEHOLDER.findall(body)
    if found and not in_path:
        raise AclTemplateError(field, "placeholders are allowed only in path strings")
    for name in found:
        if name not in claims:
            claims.append(name)


def claim_value(claims: Mapping[str, object], name: str) -> object:
    """Look up a dotted claim name; at each level the longest existing key wins.

    ``kubernetes.io.namespace`` finds ``claims["kubernetes.io"]["namespace"]`` as well as a
    flat ``claims["kubernetes.io.namespace"]``. Raises :class:`MissingClaim` when absent.
    """
    parts = name.split(".")
    current: object = claims
    start = 0
    while start < len(parts):
        if not isinstance(current, Mapping):
            raise MissingClaim(name)
        for stop in range(len(parts), start, -1):
            key = ".".join(parts[start:stop])
            if key in current:
                current = current[key]
                start = stop
                break
        else:
            raise MissingClaim(name)
    return current


def safe_segment(claim: str, value: object, *, max_len: int = DEFAULT_MAX_VALUE_LEN) -> str:
    """Return ``value`` as text when it is safe inside one path segment, else raise."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UnsafeClaimValue(claim, f"value is a {type(value).__name__}, not a string")
    text = str(value)
    if not text:
        raise UnsafeClaimValue(claim, "value is empty")
    if len(text) > max_len:
        raise UnsafeClaimValue(claim, f"value is longer than {max_len}", _preview(text))
    if not _SAFE_VALUE.fullmatch(text):
        raise UnsafeClaimValue(
            claim, "value has a character outside [A-Za-z0-9._-]", _preview(text)
        )
    if text == "." or ".." in text:
        raise UnsafeClaimValue(claim, "value is '.' or contains '..'", _preview(text))
    return text


def render_acl(
    template: AclTemplate,
    claims: Mapping[str, object],
    *,
    max_value_len: int = DEFAULT_MAX_VALUE_LEN,
) -> str:
    """Render the policy text for one session's verified claims."""
    values = {
        name: safe_segment(name, claim_value(claims, name), max_len=max_value_len)
        for name in template.claims
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template.text)


def policy_paths(policy: str) -> tuple[str, ...]:
    """The quoted paths of the ``path "..."`` blocks in a policy text, in order."""
    return tuple(_PATH_STRING.findall(policy))


def policy_name(session_id: str) -> str:
    """The stable OpenBao policy name for one session's rendered ACL.

    Lowercase, because OpenBao lowercases policy names on write and in token policies: the
    name we store must equal the one OpenBao reports back. Session ids carry ~128 random
    bits, so folding case cannot make two sessions share a policy in practice.
    """
    if not _SESSION_ID.fullmatch(session_id):
        raise ValueError("session id must be 1-96 characters of [A-Za-z0-9_-]")
    return (POLICY_PREFIX + session_id).lower()


def _preview(value: str, limit: int = 16) -> str:
    """A short, printable-safe preview: unsafe characters become '?', length shown."""
    shown = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "?" for ch in value)
    cut = shown[:limit] + ("..." if len(shown) > limit else "")
    return f"{cut!r}, {len(value)} chars"
