"""Fixtures for real PostgreSQL and non-dev OpenBao servers, shared by the integration tests."""

from __future__ import annotations

from tests.support.openbao_raft import openbao_raft
from tests.support.postgres import postgres_db, postgres_server

__all__ = ["openbao_raft", "postgres_db", "postgres_server"]
