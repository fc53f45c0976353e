"""The audit sink: callers never wait on disk, order is kept, bad fields fail in the caller."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from broker.audit import AuditFieldRefused, verify_audit
from broker.audit_sink import AuditSink


def test_records_keep_call_order_and_the_chain_verifies(tmp_path: Path) -> None:
    """Records appended from several threads land whole, chained, in one consistent order."""
    sink = AuditSink(tmp_path / "audit.jsonl")

    def burst(n: int) -> None:
        for i in range(50):
            sink.record("decision", result="allow", reason="ok", subject=f"w{n}-{i}")

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()
    result = verify_audit(tmp_path / "audit.jsonl")
    assert result.ok and result.records == 200
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    for n in range(4):  # each thread's own records stay in its order
        mine = [r["subject"] for r in lines if r["subject"].startswith(f"w{n}-")]
        assert mine == [f"w{n}-{i}" for i in range(50)]


def test_token_shaped_fields_are_refused_in_the_caller(tmp_path: Path) -> None:
    """A credential-shaped value raises at the call site and is never queued."""
    sink = AuditSink(tmp_path / "audit.jsonl")
    with pytest.raises(AuditFieldRefused):
        sink.record("decision", subject="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    with pytest.raises(AuditFieldRefused):
        sink.record("issue", token="x")
    assert sink.flush()
    sink.close()
    assert (tmp_path / "audit.jsonl").read_text() == ""


def test_append_does_not_wait_for_the_disk(tmp_path: Path) -> None:
    """While the writer thread is stuck, append still returns at once; flush then drains."""
    sink = AuditSink(tmp_path / "audit.jsonl", fsync=True)
    gate = threading.Event()
    original = sink._writer.append

    def slow(*args: object, **kwargs: object) -> object:
        gate.wait(5)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    sink._writer.append = slow  # type: ignore[method-assign]
    for i in range(20):
        sink.record("decision", reason="ok", subject=f"s{i}")  # would hang if synchronous
    assert not sink.flush(timeout_s=0.05)
    gate.set()
    assert sink.flush()
    sink.close()
    assert verify_audit(tmp_path / "audit.jsonl").records == 20


def test_a_failed_write_is_counted_and_the_next_still_written(tmp_path: Path) -> None:
    """One record failing (disk error) does not stop the writer."""
    sink = AuditSink(tmp_path / "audit.jsonl")
    original = sink._writer.append
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    sink._writer.append = flaky  # type: ignore[method-assign]
    sink.record("decision", reason="first")
    sink.record("decision", reason="second")
    assert sink.flush()
    sink.close()
    assert sink.failures == 1
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert [json.loads(x)["reason"] for x in lines] == ["second"]
