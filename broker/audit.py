"""Append-only, hash-chained JSON-lines audit log of the broker's decisions.

Invariants:
- One record per line, canonical JSON (sorted keys, no spaces, ASCII only), ending in "\\n".
- Every record has ``ts`` (UTC, ISO 8601, ms), ``seq`` (1, 2, 3, ...), ``event``, its fields,
  ``prev`` = SHA-256 hex of the previous line's exact bytes without its newline (the first
  record has :data:`GENESIS`), and ``hash`` = SHA-256 hex of the record's canonical JSON
  without ``hash``. ``prev`` chains the records (a removed, reordered or rewritten record
  breaks its successor); ``hash`` lets :func:`verify_audit` name an edited line itself.
- A plain hash chain cannot tell a wholesale rewrite from the original: whoever can write the
  file can recompute it. :attr:`VerifyResult.head` (hash of the last line) is the anchor to
  record elsewhere; ``verify_audit(path, expected_head=...)`` then catches forged tails.
- No token, JWT, secret or password ever enters a record: field names that suggest one, and
  values shaped like an OpenBao token or a JWT, raise :class:`AuditFieldRefused`.

Durability: each record is written with one ``write`` on a file opened ``O_APPEND`` and
flushed to the OS, so a crashed broker loses nothing the kernel has. With ``fsync=True``
every record is also fsynced (survives power loss; costs a disk flush per record).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self

GENESIS = "0" * 64
EVENTS = frozenset(
    {"decision", "issue", "renew", "revoke", "session_end", "policy_delete", "startup", "shutdown"}
)
RESERVED = frozenset({"ts", "seq", "event", "prev", "hash"})
FieldValue = str | int | bool | None | Sequence[str]

_FORBIDDEN_KEY = re.compile(
    r"token|jwt|secret|passw|credential|bearer|authorization", re.IGNORECASE
)
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
# OpenBao/Vault service and batch tokens, and anything JWT-shaped (base64url JSON header).
_TOKEN_SHAPED = re.compile(
    r"(?:^|[^A-Za-z0-9])(?:[sb]\.|hv[sb]\.)[A-Za-z0-9_-]{20,}|eyJ[\w-]{8,}\."
)


class AuditError(Exception):
    code = "audit_error"
    status = 500

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    @property
    def http_status(self) -> int:
        return self.status


class AuditFieldRefused(AuditError):
    """A caller tried to record a field that could hold a credential (a programming error)."""

    code = "audit_field_refused"


class AuditLogCorrupt(AuditError):
    """The existing log's last line cannot be continued; run ``audit-verify``."""

    code = "audit_log_corrupt"


class AuditLogLocked(AuditError):
    """Another process holds the log; two writers would fork the chain."""

    code = "audit_log_locked"


def canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def line_digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def chained_line(body: Mapping[str, Any]) -> bytes:
    """``canonical(body + {"hash": line_digest(canonical(body))})``, serialising ``body`` once.

    ``body`` is serialised with an empty ``hash``; that entry is the one place the bytes
    ``"hash":""`` occur (inside a string value every quote is escaped, and no value is an
    object), so dropping it gives ``canonical(body)`` and filling it gives the line.
    """
    line = canonical({**body, "hash": ""})
    at = line.index(_EMPTY_HASH)
    end = at + len(_EMPTY_HASH)
    if line[end : end + 1] == b",":
        without = line[:at] + line[end + 1 :]
    elif line[at - 1 : at] == b",":
        without = line[: at - 1] + line[end:]
    else:
        without = line[:at] + line[end:]
    return line[:at] + b'"hash":"' + line_digest(without).encode() + b'"' + line[end:]


_EMPTY_HASH = b'"hash":""'


_CHECKED_KEYS: set[str] = set()  # field names already accepted (they come from code: a few)
_CHECKED_KEYS_MAX = 1024


def _check_key(key: str) -> None:
    if key in _CHECKED_KEYS:
        return
    if key in RESERVED or not _KEY.fullmatch(key):
        raise AuditFieldRefused(f"audit field name {key!r} is reserved or malformed")
    if _FORBIDDEN_KEY.search(key):
        raise AuditFieldRefused(f"audit field {key!r} looks like it holds a credential")
    if len(_CHECKED_KEYS) < _CHECKED_KEYS_MAX:
        _CHECKED_KEYS.add(key)


def _token_shaped(value: str) -> bool:
    # Both shapes contain a '.', and most values (ids, accessors, subjects, rules) have none:
    # the test skips the regex for them (it ran for every field of every record, on the loop).
    return "." in value and _TOKEN_SHAPED.search(value) is not None


def check_fields(fields: Mapping[str, FieldValue]) -> dict[str, Any]:
    """Validate caller fields; return them as JSON-ready values."""
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        _check_key(key)
        if isinstance(value, str):
            if _token_shaped(value):
                raise AuditFieldRefused(f"audit field {key!r} holds a token-shaped value")
            clean[key] = value
        elif value is None or isinstance(value, int):  # bool is an int
            clean[key] = value
        elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
            items = list(value)
            if any(_token_shaped(v) for v in items):
                raise AuditFieldRefused(f"audit field {key!r} holds a token-shaped value")
            clean[key] = items
        else:
            raise AuditFieldRefused(f"audit field {key!r} must be a scalar or a list of strings")
    return clean


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    line: bytes  # exact bytes written, without the newline

    @property
    def digest(self) -> str:
        return line_digest(self.line)


class AuditWriter:
    """Appends chained records to one file; safe to call from several threads."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._lock = threading.Lock()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise AuditLogLocked(f"audit log {self.path} is held by another writer") from exc
        self._file: IO[bytes] = os.fdopen(fd, "ab", buffering=0)
        try:
            self._seq, self._prev = _tail_state(self.path)
        except BaseException:
            self._file.close()
            raise

    @property
    def head(self) -> str:
        """SHA-256 of the last line written (the anchor to keep elsewhere)."""
        return self._prev

    def append(self, event: str, at: datetime, **fields: FieldValue) -> AuditRecord:
        if event not in EVENTS:
            raise AuditFieldRefused(f"unknown audit event {event!r}")
        if at.tzinfo is None:
            raise ValueError("audit timestamps must be timezone-aware")
        body = check_fields(fields)
        with self._lock:
            body.update(
                ts=at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                seq=self._seq + 1,
                event=event,
                prev=self._prev,
            )
            line = chained_line(body)
            self._file.write(line + b"\n")
            if self._fsync:
                os.fsync(self._file.fileno())
            self._seq += 1
            self._prev = line_digest(line)
            return AuditRecord(seq=self._seq, line=line)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tail_state(path: Path) -> tuple[int, str]:
    """(seq, digest) of the last line; (0, GENESIS) for an empty file."""
    with path.open("rb") as f:
        end = f.seek(0, os.SEEK_END)
        if end == 0:
            return 0, GENESIS
        # Read backwards in blocks until the start of the last line is in view.
        block, data = 4096, b""
        pos = end
        while pos > 0 and data.count(b"\n") < 2:
            pos = max(0, pos - block)
            f.seek(pos)
            data = f.read(end - pos)
    if not data.endswith(b"\n"):
        raise AuditLogCorrupt(f"audit log {path} ends in a partial line")
    line = data[:-1].rsplit(b"\n", 1)[-1]
    try:
        record = json.loads(line)
        seq = record["seq"]
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditLogCorrupt(f"audit log {path} last line is not an audit record") from exc
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise AuditLogCorrupt(f"audit log {path} last line has no valid seq")
    return seq, line_digest(line)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int  # lines that verified before the first bad one
    head: str  # digest of the last good line (GENESIS if none)
    bad_line: int | None = None  # 1-based
    reason: str | None = None  # stable code: truncated, not_json, malformed, ...

    def describe(self) -> str:
        if self.ok:
            return f"ok: {self.records} records, head {self.head}"
        return f"line {self.bad_line}: {self.reason}"


def verify_audit(path: str | os.PathLike[str], *, expected_head: str | None = None) -> VerifyResult:
    """Check the whole chain; the first bad line is named. Raises OSError if unreadable."""
    prev, seq, seen_heads = GENESIS, 0, {GENESIS: 0}
    with Path(path).open("rb") as f:
        for number, raw in enumerate(f, start=1):
            reason = _check_line(raw, seq + 1, prev)
            if reason is not None:
                return VerifyResult(False, seq, prev, number, reason)
            seq, prev = seq + 1, line_digest(raw[:-1])
            if expected_head is not None:
                seen_heads.setdefault(prev, number)
    if expected_head is not None and expected_head != prev:
        anchored = seen_heads.get(expected_head)
        if anchored is None:
            return VerifyResult(False, seq, prev, None, "head_not_found")
        return VerifyResult(False, seq, prev, anchored + 1, "after_expected_head")
    return VerifyResult(True, seq, prev)


def _check_line(raw: bytes, expected_seq: int, prev: str) -> str | None:
    if not raw.endswith(b"\n"):
        return "truncated"
    try:
        record = json.loads(raw[:-1])
    except ValueError:
        return "not_json"
    if not isinstance(record, dict):
        return "not_json"
    stored_hash = record.pop("hash", None)
    if (
        not isinstance(record.get("seq"), int)
        or not isinstance(record.get("prev"), str)
        or record.get("event") not in EVENTS
        or not isinstance(record.get("ts"), str)
        or not isinstance(stored_hash, str)
    ):
        return "malformed"
    if stored_hash != line_digest(canonical(record)):
        return "record_hash_mismatch"
    if record["seq"] != expected_seq:
        return "seq_mismatch"
    if record["prev"] != prev:
        return "prev_mismatch"
    return None
