"""Session state rules, bearer digests, error shapes and the Secret wrapper."""

from __future__ import annotations

import pytest

from broker import errors
from broker.sessions import FINAL, State, bearer_matches, can_transition, token_digest
from broker.wire import ErrorBody, Secret, SessionCreated, WireError


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (State.ACTIVE, State.ENDING, True),
        (State.ENDING, State.ENDED, True),
        (State.ACTIVE, State.EXPIRED, True),
        (State.ACTIVE, State.ENDED, False),  # must pass through ending (revoke first)
        (State.ENDED, State.ACTIVE, False),
        (State.EXPIRED, State.ENDING, False),
    ],
)
def test_transitions(current: State, target: State, allowed: bool) -> None:
    """Only forward transitions; final states stay final."""
    assert can_transition(current, target) is allowed


def test_final_states() -> None:
    """ended, expired and revoked are final."""
    assert FINAL == {State.ENDED, State.EXPIRED, State.REVOKED}


def test_bearer_digest_matches_only_the_same_token() -> None:
    """The stored digest accepts the token it came from and nothing else."""
    stored = token_digest("s.abcdefghijklmnopqrstuvwx")
    assert "s.abc" not in stored
    assert bearer_matches(stored, "s.abcdefghijklmnopqrstuvwx")
    assert not bearer_matches(stored, "s.abcdefghijklmnopqrstuvwy")


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
