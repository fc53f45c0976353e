"""Helpers for the session-lifecycle tests: broker configs with lifecycle settings, an
in-process broker over a real OpenBao, and the root-side view of Sluice-tagged tokens."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from broker import errors
from broker.app import make_app
from broker.settings import Settings, load
from broker.store import SessionStore
from broker.vault import OpenBaoBackend, read_token_file
from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import REPO, SLUICE, Proc, Scope

ApiFn = Callable[..., tuple[int, Any]]


class Clock:
    """A settable clock for the in-process app (the reaper's view of time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def config_text(
    *,
    vault_addr: str,
    token_file: Path,
    issuer_url: str,
    policies: list[str],
    store: Mapping[str, str],
    port: int = 0,
    ttl_s: int = 300,
    sessions: Mapping[str, Any] | None = None,
    admin: Mapping[str, str] | None = None,
    reap_interval_s: float = 30.0,
    extra: Mapping[str, Any] | None = None,
) -> str:
    doc: dict[str, Any] = {
        "listen": {"host": "127.0.0.1", "port": port},
        "vault": {"addr": vault_addr, "token_file": str(token_file), "token_role": "sluice"},
        "store": dict(store),
        "issuers": [{"issuer": issuer_url, "audiences": ["sluice"]}],
        "rules": [
            {
                "name": "app",
                "issuer": issuer_url,
                "match": {"sub": "system:serviceaccount:*"},
                "policies": policies,
                "ttl": f"{ttl_s}s",
            }
        ],
        "reap_interval_s": reap_interval_s,
    }
    if sessions:
        doc["sessions"] = dict(sessions)
    if admin:
        doc["admin"] = dict(admin)
    doc.update(extra or {})
    return yaml.safe_dump(doc)


def write_sqlite_config(
    directory: Path,
    *,
    openbao: DevServer,
    token_file: Path,
    issuer: Issuer,
    scope: Scope,
    **options: Any,
) -> Path:
    """DIRECTORY/broker.yaml: `config_text` for one test's scope over a SQLite store
    DIRECTORY/s.db; OPTIONS are `config_text`'s own (port, sessions, admin, ...)."""
    path = directory / "broker.yaml"
    path.write_text(
        config_text(
            vault_addr=openbao.addr,
            token_file=token_file,
            issuer_url=issuer.url,
            policies=[scope.policy],
            store={"sqlite_path": str(directory / "s.db")},
            **options,
        )
    )
    return path


class Backend(OpenBaoBackend):
    """The real backend, counting revocations, with faults on demand."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.revokes: list[str] = []
        self.fail_revokes = False
        self.lose_create_answer = False  # OpenBao makes the token; the answer never arrives

    async def revoke_accessor(self, accessor: str) -> None:
        if self.fail_revokes:
            raise errors.VaultUnavailable()
        self.revokes.append(accessor)
        await super().revoke_accessor(accessor)

    async def create_token(self, *args: Any, **kwargs: Any) -> Any:
        issued = await super().create_token(*args, **kwargs)
        if self.lose_create_answer:
            raise errors.VaultUnavailable()
        return issued


def in_process_app(settings: Settings, store: SessionStore, clock: Clock) -> tuple[Any, Backend]:
    """The broker app in this process on the real OpenBao; the backend closes with the app."""
    backend = Backend(settings.vault.addr, read_token_file(settings.vault.token_file), "sluice")
    app = make_app(settings, backend, store, clock)

    async def close(_: Any) -> None:
        await backend.close()

    app.on_cleanup.append(close)
    return app, backend


def load_settings(path: Path) -> Settings:
    return load(path, {})


def tagged_tokens(api: ApiFn, store_id: str) -> dict[str, str]:
    """accessor -> sluice_session of every live token this store issued (root view)."""
    status, listing = api("LIST", "auth/token/accessors")
    assert status == 200, listing
    found = {}
    for accessor in listing["data"]["keys"]:
        status, info = api("POST", "auth/token/lookup-accessor", {"accessor": accessor})
        if status != 200:
            continue  # revoked between the listing and the lookup
        meta = info["data"].get("meta") or {}
        if meta.get("sluice_store") == store_id:
            found[accessor] = meta["sluice_session"]
    return found


@dataclass
class BrokerProc(Proc):
    """A `sluice broker serve` subprocess with its own output file, answering at `base`."""

    base: str = ""

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)


def spawn_broker(
    config: Path,
    log: Path,
    port: int,
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> BrokerProc:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "PG"))}
    base_env.update(env or {})
    with log.open("ab") as sink:
        popen = subprocess.Popen(
            [*SLUICE, "broker", "serve", "--config", str(config), *args],
            cwd=REPO,
            env=base_env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return BrokerProc(popen, log, base=f"http://127.0.0.1:{port}")


class DelayProxy:
    """A loopback TCP proxy that holds every upstream answer back by ``delay_s``.

    Put between the broker and OpenBao, it widens the window in which OpenBao has acted
    (token created, token revoked) but the broker has not heard yet: the window a crash
    test must hit.
    """

    def __init__(self, upstream_port: int, delay_s: float) -> None:
        import socket

        self.delay_s = delay_s
        self._upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        import socket

        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._upstream, timeout=10)
            except OSError:
                client.close()
                continue
            self._spawn(self._pipe, client, upstream, 0.0)
            self._spawn(self._pipe, upstream, client, self.delay_s)

    def _pipe(self, src: Any, dst: Any, delay_s: float) -> None:
        try:
            while chunk := src.recv(65536):
                if delay_s:
                    time.sleep(delay_s)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
