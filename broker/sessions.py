"""Session state: pure rules for which transitions are allowed, and the bearer digest.

    active ──end──> ending ──revoked in OpenBao──> ended
       │               └──(revoke failed: stays ending, retried later)
       ├──ttl passed──> expired
       └──operator────> revoked

The token itself is never stored: only its SHA-256, compared in constant time. OpenBao service
tokens carry ~140 bits of randomness, so an unsalted hash is not guessable.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets


class State(str, enum.Enum):
    ACTIVE = "active"
    ENDING = "ending"
    ENDED = "ended"
    EXPIRED = "expired"
    REVOKED = "revoked"


TRANSITIONS: dict[State, frozenset[State]] = {
    State.ACTIVE: frozenset({State.ENDING, State.EXPIRED, State.REVOKED}),
    State.ENDING: frozenset({State.ENDED, State.REVOKED}),
    State.ENDED: frozenset(),
    State.EXPIRED: frozenset(),
    State.REVOKED: frozenset(),
}
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


def can_transition(current: State, target: State) -> bool:
    return target in TRANSITIONS[current]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_matches(stored_digest: str, presented: str) -> bool:
    return hmac.compare_digest(stored_digest, token_digest(presented))


def new_session_id() -> str:
    return "ses_" + secrets.token_urlsafe(16)
