"""Session state rules, bearer digests, error shapes and the Secret wrapper."""

from __future__ import annotations

import pytest

from broker import errors
from broker.sessions import (
    FINAL,
    State,
    bearer_matches,
    can_transition,
    ending_outcome,
    heartbeat_deadline,
    retry_delay_s,
    token_digest,
    token_must_die,
)
from broker.wire import ErrorBody, Secret, SessionCreated, WireError


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (State.PENDING, State.ACTIVE, True),
        (State.PENDING, State.ENDED, True),  # abandoned open, nothing left in OpenBao
        (State.PENDING, State.ENDING, False),
        (State.ACTIVE, State.ENDING, True),
        (State.ENDING, State.ENDED, True),
        (State.ENDING, State.EXPIRED, True),
        (State.ENDING, State.REVOKED, True),
        (State.ACTIVE, State.ENDED, False),  # must pass through ending (revoke first)
        (State.ACTIVE, State.EXPIRED, False),  # expiry also revokes first (policy, leases)
        (State.ACTIVE, State.REVOKED, False),
        (State.ENDED, State.ACTIVE, False),
        (State.EXPIRED, State.ENDING, False),
        (State.REVOKED, State.ENDING, False),
    ],
)
def test_transitions(current: State, target: State, allowed: bool) -> None:
    """Only forward transitions, every end passes through ending; final states stay final."""
    assert can_transition(current, target) is allowed


def test_final_states() -> None:
    """ended, expired and revoked are final."""
    assert FINAL == {State.ENDED, State.EXPIRED, State.REVOKED}


@pytest.mark.parametrize(
    ("cause", "confirmed", "outcome"),
    [
        (State.ENDED, True, State.ENDED),
        (State.EXPIRED, True, State.EXPIRED),
        (State.REVOKED, True, State.REVOKED),
        (State.ENDED, False, State.ENDING),
        (State.REVOKED, False, State.ENDING),
    ],
)
def test_ending_reaches_its_cause_only_when_confirmed(
    cause: State, confirmed: bool, outcome: State
) -> None:
    """Without OpenBao's confirmation a session stays ending, whatever the cause."""
    assert ending_outcome(cause, confirmed) is outcome


def test_ending_outcome_refuses_non_causes() -> None:
    """active or pending are not reasons to end."""
    with pytest.raises(ValueError):
        ending_outcome(State.ACTIVE, True)


@pytest.mark.parametrize(
    ("now", "expires_at", "window", "deadline"),
    [
        (100.0, 700.0, 90.0, 190.0),  # heartbeat window first
        (650.0, 700.0, 90.0, 700.0),  # never past the token's TTL
        (100.0, 700.0, None, 700.0),  # heartbeats disabled: TTL only
    ],
)
def test_heartbeat_deadline(now: float, expires_at: float, window: float | None,
                            deadline: float) -> None:  # fmt: skip
    """deadline = min(expires_at, now + window)."""
    assert heartbeat_deadline(now, expires_at, window) == deadline


@pytest.mark.parametrize(
    ("attempts", "cap", "jitter", "delay"),
    [(0, 60, 0.0, 1.0), (1, 60, 0.0, 2.0), (5, 60, 0.0, 32.0), (6, 60, 0.0, 60.0),
     (100, 60, 0.0, 60.0), (2, 60, 0.5, 5.0)],
)  # fmt: skip
def test_retry_backoff(attempts: int, cap: float, jitter: float, delay: float) -> None:
    """Revocation retries back off 1, 2, 4, ... s up to the cap; jitter stretches by <= 50%."""
    assert retry_delay_s(attempts, cap, jitter) == delay


def test_bearer_digest_matches_only_the_same_token() -> None:
    """The stored digest accepts the token it came from and nothing else."""
    stored = token_digest("s.abcdefghijklmnopqrstuvwx")
    assert "s.abc" not in stored
    assert bearer_matches(stored, "s.abcdefghijklmnopqrstuvwx")
    assert not bearer_matches(stored, "s.abcdefghijklmnopqrstuvwy")
    assert not bearer_matches(None, "s.abcdefghijklmnopqrstuvwx")  # pending: no token yet


def test_secret_never_shows_itself() -> None:
    """repr/str/dataclass repr of a session never contain the token."""
    created = SessionCreated("ses_1", Secret("s.topsecretvalue1234567890"), "acc", 1.0)
    for text in (repr(created), str(created), f"{created.token}"):
        assert "topsecret" not in text
    assert SessionCreated.from_json(created.to_json()) == created


def test_wire_rejects_malformed_bodies() -> None:
    """Missing or mistyped fields are WireErrors that name the field, never the value."""
    with pytest.raises(WireError, match="token"):
        SessionCreated.from_json({"session_id": "s", "token": 5, "accessor": "a", "expires_at": 1})
    with pytest.raises(WireError):
        ErrorBody.from_json({"nope": 1})


def test_every_error_class_has_a_distinct_code_and_http_status() -> None:
    """Codes are unique across the tree; statuses are HTTP error statuses."""
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.BrokerError)
    ]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert all(400 <= c.status < 600 for c in classes)


@pytest.mark.parametrize(
    ("state", "age_s", "dies"),
    [
        (State.ACTIVE, 1000.0, False),
        (State.ENDING, 1000.0, False),  # the ending path owns it
        (State.PENDING, 5.0, False),  # an open in flight somewhere
        (State.PENDING, 31.0, True),  # abandoned by a crash
        (State.ENDED, 0.0, True),
        (State.EXPIRED, 0.0, True),
        (State.REVOKED, 0.0, True),
        (None, 0.0, True),  # no row at all: not ours to keep
    ],
)
def test_reconciler_decision(state: State | None, age_s: float, dies: bool) -> None:
    """A tagged token outlives its session only while the session is alive or opening."""
    now = 10_000.0
    assert token_must_die(state, now - age_s, now, grace_s=30.0) is dies
