"""On-disk cache of compiled hyperscan databases, so a process starts in milliseconds.

Compiling the catalogue takes seconds; a log pipeline starting `sluice redact` per stream
cannot pay that each time. The cache key is a hash of every expression, id and flag plus the
hyperscan version, so any change to the rules or known values compiles afresh. Writes are
atomic (temp file + rename); an unreadable, stale or corrupt entry is simply rebuilt. Known-value
anchors enter the key only through the hash; the file holds compiled automata, not a list of
values, but it lives in the user's private cache directory (0700) all the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

try:
    import hyperscan as _hs
except ImportError:  # pragma: no cover
    _hs = None  # type: ignore[assignment]

Entries = Sequence[tuple[bytes, int, int]]
KEEP = 16


def cache_dir() -> Path | None:
    if os.environ.get("SLUICE_NO_CACHE"):
        return None
    explicit = os.environ.get("SLUICE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sluice"


def cache_key(entries: Entries) -> str:
    digest = hashlib.sha256(str(getattr(_hs, "__version__", "?")).encode())
    for expr, ident, flag in entries:
        digest.update(len(expr).to_bytes(4, "big") + expr + ident.to_bytes(4, "big"))
        digest.update(flag.to_bytes(4, "big"))
    return digest.hexdigest()


def load_or_build(entries: Entries, build: Callable[[Entries], Any]) -> Any:
    assert _hs is not None
    directory = cache_dir()
    path = directory / f"hs-{cache_key(entries)}.db" if directory else None
    if path is not None:
        try:
            db = _hs.loadb(path.read_bytes(), _hs.HS_MODE_BLOCK)
            db.scratch = _hs.Scratch(db)  # a deserialized database comes without scratch space
            return db
        except (OSError, _hs.error, ValueError, TypeError):
            pass  # missing or unusable: rebuild
    db = build(entries)
    if path is not None:
        _store(path, _hs.dumpb(db))
    return db


def load_or_compute_json(kind: str, material: Sequence[str], compute: Callable[[], Any]) -> Any:
    """A JSON-able value derived from `material` (e.g. pattern widths), cached like databases."""
    digest = hashlib.sha256(kind.encode())
    for item in material:
        digest.update(len(item).to_bytes(4, "big") + item.encode("utf-8", "surrogateescape"))
    directory = cache_dir()
    path = directory / f"{kind}-{digest.hexdigest()}.json" if directory else None
    if path is not None:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    value = compute()
    if path is not None:
        _store(path, json.dumps(value).encode())
    return value


def _store(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        import tempfile  # only on a cache miss: keeps `sluice redact` start-up short

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hs-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        _prune(path.parent)
    except OSError:
        pass  # a read-only home is fine: we just compile next time too


def _prune(directory: Path) -> None:
    """Keep the most recent databases only: each rule or known-value change makes a new one."""
    for pattern in ("hs-*.db", "*.json"):
        entries = sorted(directory.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[KEEP:]:
            stale.unlink(missing_ok=True)
