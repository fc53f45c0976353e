"""The advisory-lock key that serialises one subject's openings across broker replicas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from broker.store_postgres import subject_lock_key

ISS = "https://token.actions.githubusercontent.com"


def test_key_is_a_signed_64_bit_integer() -> None:
    """pg_advisory_xact_lock(bigint) accepts every key: it fits a signed 64-bit integer."""
    keys = [subject_lock_key(ISS, f"repo:acme/app{i}") for i in range(2000)]
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert any(k < 0 for k in keys) and any(k > 0 for k in keys)  # the whole range is used


def test_key_is_the_same_in_every_process() -> None:
    """Replicas must agree: the key does not depend on Python's per-process hash seed."""
    code = "from broker.store_postgres import subject_lock_key as k; print(k('i', 'repo:a/b'))"
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
        cwd=Path(__file__).resolve().parents[3],
    )
    assert int(other.stdout) == subject_lock_key("i", "repo:a/b")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("a b", "c"), ("a", "b c")),  # the issuer/subject boundary is part of the key
        (("i", "sub"), ("i", "sub2")),
        (("i", "sub"), ("j", "sub")),  # the same subject name under another issuer
        (("", "x"), ("x", "")),
        (("i", "ü"), ("i", "u")),
    ],
)
def test_distinct_subjects_get_distinct_keys(one: tuple[str, str], other: tuple[str, str]) -> None:
    """Different (issuer, subject) pairs, even ones that concatenate alike, lock apart."""
    assert subject_lock_key(*one) != subject_lock_key(*other)
