"""Audit log: chained records, refusal of credential fields, tamper detection by line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.audit import (
    GENESIS,
    AuditFieldRefused,
    AuditLogCorrupt,
    AuditLogLocked,
    AuditWriter,
    canonical,
    verify_audit,
)
from broker.audit_cli import audit_verify

FIXTURE_REUSE = HealthCheck.function_scoped_fixture  # each example rewrites its own file
T0 = datetime(2026, 11, 24, 1, 0, 0, tzinfo=UTC)


def write_log(path: Path, count: int = 5) -> list[bytes]:
    with AuditWriter(path) as log:
        for i in range(count):
            log.append(
                "decision",
                T0 + timedelta(seconds=i),
                subject=f"system:serviceaccount:ns:sa{i}",
                issuer="cluster-a",
                rule="previews",
                session_id=f"sess{i}",
                result="allow",
                reason="ok",
            )
    return path.read_bytes().splitlines(keepends=True)


def test_records_chain_from_genesis(tmp_path: Path) -> None:
    """Each record's prev is the SHA-256 of the previous line's bytes; the first is GENESIS."""
    lines = write_log(tmp_path / "audit.log", 3)
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev"] == GENESIS
    for before, record in zip(lines, records[1:], strict=False):
        assert record["prev"] == hashlib.sha256(before.rstrip(b"\n")).hexdigest()
    assert records[0]["ts"] == "2026-11-24T01:00:00.000Z"
    assert records[0]["subject"] == "system:serviceaccount:ns:sa0"
    assert verify_audit(tmp_path / "audit.log").ok


def test_reopen_continues_the_chain(tmp_path: Path) -> None:
    """A writer reopening an existing log continues seq and prev from its last line."""
    path = tmp_path / "audit.log"
    write_log(path, 2)
    with AuditWriter(path) as log:
        record = log.append("revoke", T0, session_id="sess0", accessor="acc0", cause="session_end")
        assert record.seq == 3
    result = verify_audit(path)
    assert result.ok and result.records == 3 and result.head == record.digest


def test_second_writer_is_refused(tmp_path: Path) -> None:
    """Two writers on one file would fork the chain: the second is refused."""
    path = tmp_path / "audit.log"
    with AuditWriter(path), pytest.raises(AuditLogLocked):
        AuditWriter(path)


def test_reopen_refuses_partial_last_line(tmp_path: Path) -> None:
    """A writer does not paper over a truncated log."""
    path = tmp_path / "audit.log"
    write_log(path, 2)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(AuditLogCorrupt):
        AuditWriter(path)


@pytest.mark.parametrize(
    "fields",
    [
        {"token": "x"},
        {"client_token": "x"},
        {"jwt": "x"},
        {"secret_id": "x"},
        {"db_password": "x"},
        {"bearer": "x"},
        {"note": "s.AbCdEfGhIjKlMnOpQrStUvWx"},
        {"note": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig"},
        {"policies": ["default", "hvs.CAESIJabcdefghijklmnopqrstuv"]},
        {"seq": 7},
        {"Subject": "x"},
        {"blob": {"a": "b"}},
    ],
)
def test_credential_fields_refused(tmp_path: Path, fields: dict[str, object]) -> None:
    """Field names or values that could hold a credential raise a typed error."""
    with AuditWriter(tmp_path / "audit.log") as log:
        with pytest.raises(AuditFieldRefused) as info:
            log.append("issue", T0, **fields)  # type: ignore[arg-type]
        assert info.value.code == "audit_field_refused"
    assert (tmp_path / "audit.log").read_bytes() == b""


def test_unknown_event_and_naive_time_refused(tmp_path: Path) -> None:
    """Events come from a fixed set and timestamps carry a zone."""
    with AuditWriter(tmp_path / "audit.log") as log:
        with pytest.raises(AuditFieldRefused):
            log.append("decison", T0)
        with pytest.raises(ValueError):
            log.append("decision", datetime(2026, 1, 1))


def _edit(lines: list[bytes]) -> list[bytes]:
    lines[2] = lines[2].replace(b"sa2", b"sa9")
    return lines


def _edit_and_rehash(lines: list[bytes]) -> list[bytes]:
    record = json.loads(lines[2])
    record["subject"] = "system:serviceaccount:ns:mallory"
    del record["hash"]
    record["hash"] = hashlib.sha256(canonical(record)).hexdigest()
    lines[2] = canonical(record) + b"\n"
    return lines


def _forge_append(lines: list[bytes]) -> list[bytes]:
    forged = json.loads(lines[-1])
    forged["seq"] += 1
    forged["subject"] = "system:serviceaccount:ns:mallory"
    return [*lines, canonical(forged) + b"\n"]


@pytest.mark.parametrize(
    ("tamper", "bad_line", "reason"),
    [
        (_edit, 3, "record_hash_mismatch"),
        (_edit_and_rehash, 4, "prev_mismatch"),
        (lambda ls: ls[:2] + ls[3:], 3, "seq_mismatch"),
        (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], 2, "seq_mismatch"),
        (lambda ls: [*ls[:4], ls[4][:20]], 5, "truncated"),
        (lambda ls: [*ls[:4], b"{not json\n", ls[4]], 5, "not_json"),
        (lambda ls: [*ls[:3], b"\n", *ls[3:]], 4, "not_json"),
        (lambda ls: [*ls[:3], b'{"seq": 4}\n', *ls[3:]], 4, "malformed"),
        (_forge_append, 6, "record_hash_mismatch"),
        (lambda ls: ls[1:], 1, "seq_mismatch"),
    ],
    ids=[
        "edit",
        "edit-rehash",
        "delete",
        "swap",
        "truncate",
        "insert-garbage",
        "blank",
        "malformed",
        "forged-append",
        "drop-first",
    ],
)
def test_tampering_detected_at_line(
    tmp_path: Path, tamper: Callable[[list[bytes]], list[bytes]], bad_line: int, reason: str
) -> None:
    """Each kind of tampering is found, naming the first bad line."""
    path = tmp_path / "audit.log"
    lines = write_log(path)
    path.write_bytes(b"".join(tamper(list(lines))))
    result = verify_audit(path)
    assert not result.ok
    assert (result.bad_line, result.reason) == (bad_line, reason)
    assert result.records == bad_line - 1


def test_expected_head_catches_a_well_forged_tail(tmp_path: Path) -> None:
    """A correctly chained forged tail is caught only against a head kept elsewhere."""
    path = tmp_path / "audit.log"
    write_log(path, 3)
    anchor = verify_audit(path).head
    with AuditWriter(path) as log:  # the forger recomputes everything
        log.append("decision", T0, subject="mallory", result="allow", reason="ok")
    assert verify_audit(path).ok
    result = verify_audit(path, expected_head=anchor)
    assert (result.ok, result.bad_line, result.reason) == (False, 4, "after_expected_head")
    assert verify_audit(path, expected_head="f" * 64).reason == "head_not_found"


def test_cli_exit_codes(tmp_path: Path) -> None:
    """audit-verify exits 0 on a good log, 1 naming the bad line, 2 when unreadable."""
    path = tmp_path / "audit.log"
    lines = write_log(path)
    runner = CliRunner()
    ok = runner.invoke(audit_verify, [str(path)])
    assert ok.exit_code == 0 and "ok: 5 records" in ok.output
    path.write_bytes(b"".join(_edit(list(lines))))
    bad = runner.invoke(audit_verify, [str(path)])
    assert bad.exit_code == 1 and "line 3: record_hash_mismatch" in bad.output
    missing = runner.invoke(audit_verify, [str(tmp_path / "nope.log")])
    assert missing.exit_code == 2 and "cannot read" in missing.output


@settings(max_examples=200, deadline=None, suppress_health_check=[FIXTURE_REUSE])
@given(position=st.integers(min_value=0), replacement=st.integers(min_value=0, max_value=255))
def test_any_single_byte_change_is_detected(
    tmp_path: Path, position: int, replacement: int
) -> None:
    """Changing any one byte of a log makes verification fail."""
    path = tmp_path / "prop.log"
    path.unlink(missing_ok=True)
    data = b"".join(write_log(path, 3))
    position %= len(data)
    if data[position] == replacement:
        replacement = (replacement + 1) % 256
    path.write_bytes(data[:position] + bytes([replacement]) + data[position + 1 :])
    assert not verify_audit(path).ok


@settings(max_examples=100, deadline=None, suppress_health_check=[FIXTURE_REUSE])
@given(values=st.lists(st.one_of(st.text(max_size=40), st.integers(), st.none()), max_size=5))
def test_any_field_values_round_trip(tmp_path: Path, values: list[object]) -> None:
    """Arbitrary values are either refused with a typed error or stored and verified."""
    path = tmp_path / "values.log"
    path.unlink(missing_ok=True)
    accepted = []
    with AuditWriter(path) as log:
        for value in values:
            try:
                log.append("decision", T0, subject=value)  # type: ignore[arg-type]
            except AuditFieldRefused:
                continue
            accepted.append(value)
    stored = [json.loads(line)["subject"] for line in path.read_bytes().splitlines()]
    assert stored == accepted
    assert verify_audit(path).ok and verify_audit(path).records == len(accepted)


def test_cli_expect_head(tmp_path: Path) -> None:
    """--expect-head fails a log with records appended after the anchored one."""
    path = tmp_path / "audit.log"
    write_log(path, 2)
    anchor = verify_audit(path).head
    runner = CliRunner()
    assert runner.invoke(audit_verify, [str(path), "--expect-head", anchor]).exit_code == 0
    with AuditWriter(path) as log:
        log.append("renew", T0, session_id="sess1")
    late = runner.invoke(audit_verify, [str(path), "--expect-head", anchor])
    assert late.exit_code == 1 and "line 3: after_expected_head" in late.output
