"""The two shapes most rules take, so family modules stay declarations.

- `prefixed`: a token with a distinctive literal prefix (`ghp_`, `sk_live_`): found anywhere,
  bounded by non-token characters on both sides.
- `keyed`: a value with no distinctive prefix (32 hex characters, a UUID) that is only
  credible after a provider-specific key name (`DD_API_KEY=`, `"twilio_auth_token": "`).

Patterns avoid lookarounds (hyperscan has none): the end of a token is a consumed
non-token character or the end of the text, outside the `secret` group.
"""

from __future__ import annotations

from typing import Any

from scanners.rule import Rule

# A key name starts the text or follows a non-alphanumeric character (`_` counts as a
# separator, so `MY_DD_API_KEY` qualifies and `add_api_key` does not).
KEY_START = r"(?:^|[^A-Za-z0-9])"
# Not followed by another character of a URL-safe token.
END = r"(?:[^A-Za-z0-9_-]|$)"
# Not followed by another character of a standard base64 value.
END_B64 = r"(?:[^A-Za-z0-9+/=_-]|$)"
# Between a key name and its value: quotes, `=`, `:`, `:=`, `=>`, or plain spaces (CLI, headers).
SEP = r"""[A-Za-z0-9_.-]{0,24}?\\?["'\]]?\s{0,4}(?:=|:=|:|=>|->)?\s{0,4}(?:\\?["'`]|\[)?"""


def prefixed(
    id: str,
    description: str,
    body: str,
    keywords: tuple[str, ...],
    *,
    start: str = r"\b",
    end: str = END,
    tags: tuple[str, ...] = (),
    **options: Any,
) -> Rule:
    return Rule(
        id=id,
        description=description,
        pattern=f"{start}(?P<secret>{body}){end}",
        keywords=keywords,
        tags=("provider", *tags),
        **options,
    )


def keyed(
    id: str,
    description: str,
    key: str,
    value: str,
    keywords: tuple[str, ...],
    *,
    end: str = END,
    tags: tuple[str, ...] = (),
    **options: Any,
) -> Rule:
    """`key` is matched case-insensitively; `value` exactly."""
    return Rule(
        id=id,
        description=description,
        pattern=f"{KEY_START}(?i:{key}){SEP}(?P<secret>{value}){end}",
        keywords=keywords,
        tags=("provider", "context", *tags),
        **options,
    )
