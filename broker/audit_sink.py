"""The broker's audit log off the event loop: records are queued, one thread writes them.

Invariants:
- :meth:`AuditSink.append` never blocks on disk: it validates the fields (a programming error
  surfaces in the caller, at once) and queues the record with its timestamp; a single writer
  thread appends in queue order, so the hash chain follows the order of decisions;
- with ``fsync`` the writer thread pays the disk flush, never a request;
- :meth:`close` drains the queue before returning, so a clean shutdown loses nothing;
- a write that fails (disk full) is logged with its event name and counted, and the next
  record is still attempted: the broker keeps deciding, operators see the gap.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from datetime import UTC, datetime

from broker.audit import AuditWriter, FieldValue, check_fields

log = logging.getLogger(__name__)
_STOP = object()


class AuditSink:
    """Same ``append(event, at, **fields)`` as :class:`AuditWriter`, without blocking."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self._writer = AuditWriter(path, fsync=fsync)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="sluice-audit", daemon=True)
        self._thread.start()

    @property
    def path(self) -> str:
        return str(self._writer.path)

    @property
    def head(self) -> str:
        return self._writer.head

    def append(self, event: str, at: datetime | None = None, **fields: FieldValue) -> None:
        check_fields(fields)  # refuse a credential-shaped field here, in the caller
        self._queue.put((event, at or datetime.now(UTC), fields))

    def record(self, event: str, **fields: FieldValue) -> None:
        self.append(event, None, **fields)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued so far is written (tests, shutdown)."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(10)
        self._writer.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            assert isinstance(item, tuple)
            event: str = item[0]
            at: datetime = item[1]
            fields: dict[str, FieldValue] = item[2]
            try:
                self._writer.append(event, at, **fields)
            except Exception:
                self.failures += 1
                log.exception("audit record %s not written", event)
