"""Session state: pure rules for transitions, deadlines and retry timing, and the bearer digest.

    pending ──token issued──> active ──end / expire / revoke──> ending(cause)
       │                         │                                 │
       │                         │        OpenBao confirmed ───────┴──> cause: ended|expired|revoked
       │                         │        OpenBao failed: stays ending, retried with backoff
       └──abandoned (no token, or its token revoked by the reconciler)──> ended

A session reaches a final state only once OpenBao confirmed its token's revocation; the
``ending`` row carries the cause so the final state says why it ended. Deadlines: a session
must be heartbeaten every ``window`` seconds and never outlives its token's TTL, so its
deadline is ``min(expires_at, last heartbeat + window)``.

The token itself is never stored: only its SHA-256, compared in constant time. OpenBao service
tokens carry ~140 bits of randomness, so an unsalted hash is not guessable.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets


class State(str, enum.Enum):
    PENDING = "pending"
    ACTIVE = "active"
    ENDING = "ending"
    ENDED = "ended"
    EXPIRED = "expired"
    REVOKED = "revoked"


TRANSITIONS: dict[State, frozenset[State]] = {
    State.PENDING: frozenset({State.ACTIVE, State.ENDED}),
    State.ACTIVE: frozenset({State.ENDING}),
    State.ENDING: frozenset({State.ENDED, State.EXPIRED, State.REVOKED}),
    State.ENDED: frozenset(),
    State.EXPIRED: frozenset(),
    State.REVOKED: frozenset(),
}
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
END_CAUSES = frozenset({State.ENDED, State.EXPIRED, State.REVOKED})

RETRY_BASE_S = 1.0


def can_transition(current: State, target: State) -> bool:
    return target in TRANSITIONS[current]


def ending_outcome(cause: State, confirmed: bool) -> State:
    """The state an ``ending`` session moves to after one revocation attempt."""
    if cause not in END_CAUSES:
        raise ValueError(f"{cause.value} is not an end cause")
    return cause if confirmed else State.ENDING


def heartbeat_deadline(now: float, expires_at: float, window_s: float | None) -> float:
    """When the session lapses if no heartbeat arrives; ``window_s=None`` disables heartbeats."""
    if window_s is None:
        return expires_at
    return min(expires_at, now + window_s)


def is_due(deadline_at: float, now: float) -> bool:
    return deadline_at <= now


def retry_delay_s(attempts: int, cap_s: float, jitter: float = 0.0) -> float:
    """Backoff before revocation attempt ``attempts + 1``: 1, 2, 4, ... seconds, capped.

    ``jitter`` in [0, 1) stretches the delay by up to 50% so replicas retrying the same
    outage do not arrive at OpenBao in lockstep.
    """
    if attempts < 0:
        raise ValueError("attempts must be >= 0")
    base = min(cap_s, RETRY_BASE_S * float(2 ** min(attempts, 30)))
    return base * (1.0 + 0.5 * jitter)


def token_must_die(state: State | None, created_at: float, now: float, grace_s: float) -> bool:
    """Whether the reconciler revokes a live token tagged with a session in ``state``.

    Kept: ``active`` (in use), ``ending`` (the ending path revokes it and records the outcome)
    and ``pending`` younger than the grace (an open in flight on some replica). Every other
    tagged token dies: its session is final, was abandoned by a crash, or is unknown (None).
    """
    if state in (State.ACTIVE, State.ENDING):
        return False
    if state is State.PENDING:
        return created_at < now - grace_s
    return True


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_matches(stored_digest: str | None, presented: str) -> bool:
    if stored_digest is None:  # pending: no token issued yet, nothing can match
        return False
    return hmac.compare_digest(stored_digest, token_digest(presented))


def new_session_id() -> str:
    return "ses_" + secrets.token_urlsafe(16)
