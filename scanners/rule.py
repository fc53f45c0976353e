"""What a detection rule is: a declaration, not code.

Invariants every rule keeps (the engine and the tests rely on them):
- `pattern` is Python `re` syntax without lookarounds or backreferences, so the same
  pattern also compiles in a multi-pattern engine (hyperscan) for the one-pass prefilter.
- The secret is the named group `secret` when present, else the whole match; findings and
  redactions cover exactly that span.
- `keywords` are lowercase literals, and every match contains at least one of them
  (case-insensitively): the pure-Python fallback prefilters lines on them.
- `id` is stable once published: baselines and suppressions refer to it.
- `tags` hold "provider" (a format of its own) or "generic" (a key name with a value of no
  format): generic findings yield to provider findings on overlapping spans.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    pattern: str
    keywords: tuple[str, ...]
    # Minimum Shannon entropy (bits per character) of the secret; 0 disables the check.
    min_entropy: float = 0.0
    # Extra check on the secret text (checksums, structure); False drops the candidate.
    validate: Callable[[str], bool] | None = None
    # The match may span lines (PEM blocks); redacted as one block.
    multiline: bool = False
    # Case-insensitive pattern.
    ignore_case: bool = False
    # Skip the generic placeholder/example filters (for formats that are never placeholders).
    skip_filters: bool = False
    # Free-form labels. "generic" marks the key-name rules: they also pass the benign-value
    # filters (UUIDs, digests, paths, words) and yield to provider rules on overlapping spans.
    tags: tuple[str, ...] = field(default_factory=tuple)
    # Extra check on the whole match, for context outside the secret (e.g. the key name of a
    # generic assignment, which a lookbehind would express but hyperscan cannot).
    validate_match: Callable[[re.Match[str]], bool] | None = None

