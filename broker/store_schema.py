"""Schema of the session store, as numbered migrations per SQL dialect.

Invariants: a migration, once published, never changes; new ones are appended. Each backend
records applied versions in ``schema_migrations`` and applies the missing ones in order, in
one transaction each (PostgreSQL under an advisory lock, so replicas starting together do not
race). Version 1 is the walking skeleton's table, written with ``IF NOT EXISTS`` so a database
created before migrations existed is adopted as-is and upgraded by version 2.

Columns added by version 2 and why:
- ``state`` gains ``pending``: the intent row written before OpenBao is asked for a token.
- ``end_cause``: which final state (ended / expired / revoked) an ``ending`` session reaches
  once OpenBao confirms the revocation.
- ``deadline_at``: min(expires_at, last heartbeat + window); one indexed column the reaper
  scans, so expiry and missed heartbeats are the same query.
- ``attempts`` / ``next_attempt_at``: revocation retry with backoff; ``next_attempt_at`` is
  also the claim a replica takes on an ``ending`` row, so each is revoked by one replica.
- ``acl_policy``: the per-session OpenBao ACL policy, deleted when the session ends.
- ``replay_jti``: the persisted replay cache of identity-token ids.
"""

from __future__ import annotations

SESSION_COLUMNS = (
    "id, state, issuer, subject, rule, policies, accessor, token_sha256, created_at,"
    " expires_at, ended_at, acl_policy, end_cause, deadline_at, heartbeat_at, attempts,"
    " next_attempt_at"
)

_V1_SQLITE = """
CREATE TABLE IF NOT EXISTS sessions (
    id            TEXT PRIMARY KEY,
    state         TEXT NOT NULL CHECK (state IN ('active','ending','ended','expired','revoked')),
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    rule          TEXT NOT NULL,
    policies      TEXT NOT NULL,
    accessor      TEXT NOT NULL,
    token_sha256  TEXT NOT NULL,
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL,
    ended_at      REAL
);
CREATE INDEX IF NOT EXISTS sessions_state_expires ON sessions (state, expires_at);
"""

# SQLite cannot alter a CHECK constraint: rebuild the table and copy the rows.
_V2_SQLITE = """
CREATE TABLE sessions_v2 (
    id              TEXT PRIMARY KEY,
    state           TEXT NOT NULL CHECK (state IN
                        ('pending','active','ending','ended','expired','revoked')),
    issuer          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    rule            TEXT NOT NULL,
    policies        TEXT NOT NULL,
    accessor        TEXT,
    token_sha256    TEXT,
    created_at      REAL NOT NULL,
    expires_at      REAL NOT NULL,
    ended_at        REAL,
    acl_policy      TEXT,
    end_cause       TEXT CHECK (end_cause IN ('ended','expired','revoked')),
    deadline_at     REAL NOT NULL,
    heartbeat_at    REAL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL
);
INSERT INTO sessions_v2 (id, state, issuer, subject, rule, policies, accessor, token_sha256,
                         created_at, expires_at, ended_at, deadline_at)
    SELECT id, state, issuer, subject, rule, policies, accessor, token_sha256,
           created_at, expires_at, ended_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v2 RENAME TO sessions;
CREATE INDEX sessions_state_deadline ON sessions (state, deadline_at);
CREATE INDEX sessions_state_next ON sessions (state, next_attempt_at);
CREATE INDEX sessions_subject ON sessions (subject, issuer, state);
CREATE TABLE replay_jti (
    issuer     TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX replay_jti_expires ON replay_jti (expires_at);
"""

_V1_POSTGRES = """
CREATE TABLE IF NOT EXISTS sessions (
    id            TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    rule          TEXT NOT NULL,
    policies      TEXT NOT NULL,
    accessor      TEXT NOT NULL,
    token_sha256  TEXT NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL,
    expires_at    DOUBLE PRECISION NOT NULL,
    ended_at      DOUBLE PRECISION
);
"""

_V2_POSTGRES = """
ALTER TABLE sessions ALTER COLUMN accessor DROP NOT NULL;
ALTER TABLE sessions ALTER COLUMN token_sha256 DROP NOT NULL;
ALTER TABLE sessions ADD CONSTRAINT sessions_state_check CHECK (state IN
    ('pending','active','ending','ended','expired','revoked'));
ALTER TABLE sessions ADD COLUMN acl_policy TEXT;
ALTER TABLE sessions ADD COLUMN end_cause TEXT
    CHECK (end_cause IN ('ended','expired','revoked'));
ALTER TABLE sessions ADD COLUMN deadline_at DOUBLE PRECISION;
UPDATE sessions SET deadline_at = expires_at;
ALTER TABLE sessions ALTER COLUMN deadline_at SET NOT NULL;
ALTER TABLE sessions ADD COLUMN heartbeat_at DOUBLE PRECISION;
ALTER TABLE sessions ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN next_attempt_at DOUBLE PRECISION;
CREATE INDEX sessions_state_deadline ON sessions (state, deadline_at);
CREATE INDEX sessions_state_next ON sessions (state, next_attempt_at);
CREATE INDEX sessions_subject ON sessions (subject, issuer, state);
CREATE TABLE replay_jti (
    issuer     TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX replay_jti_expires ON replay_jti (expires_at);
"""

MIGRATIONS: dict[str, tuple[tuple[int, str], ...]] = {
    "sqlite": ((1, _V1_SQLITE), (2, _V2_SQLITE)),
    "postgresql": ((1, _V1_POSTGRES), (2, _V2_POSTGRES)),
}
LATEST = max(v for v, _ in MIGRATIONS["sqlite"])

# One random id per store, written once after the migrations: tokens are tagged with it, so the
# reconciler touches only tokens of its own deployment when several share one OpenBao.
STORE_INFO_TABLE = (
    "CREATE TABLE IF NOT EXISTS store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
)

MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
)


def statements(script: str) -> list[str]:
    """Split a migration into statements (no migration has a ';' inside a literal)."""
    return [s.strip() for s in script.split(";") if s.strip()]
