"""Sidecar configuration (flags and ``SLUICE_*`` environment, resolved by click)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SidecarSettings:
    broker_url: str
    identity_token_file: Path
    socket_path: Path
    allowed_uids: frozenset[int]  # peers allowed on the socket; our own uid is always allowed
    timeout_s: float = 5.0
    open_attempts: int = 10  # the broker may still be starting next to us
    end_attempts: int = 3
