"""A throwaway PostgreSQL server for tests and benchmarks.

Invariants:
- The server runs from the Debian package's binaries (``/usr/lib/postgresql/<ver>/bin``),
  in its own temp dir, listening on 127.0.0.1 at a free port and on a unix socket in that
  dir; nothing else on the machine is touched.
- ``initdb`` refuses to run as root, so as root every server command runs as the
  ``postgres`` system user (the temp dir is handed to it); otherwise as the current user.
- Durability is switched off (``fsync=off`` and friends): the data dies with the test run.
- ``stop()`` is idempotent and always removes the temp dir.

``PostgresServer`` works outside pytest (bench scripts); ``postgres_server`` (session)
and ``postgres_db`` (a fresh database per test) are the pytest fixtures.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
import pytest

from tests.conftest import free_port

INSTALL_HINT = (
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; run `make postgres`"
)
SUPERUSER = "postgres"
_SERVICE_USER = "postgres"
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}


class PostgresFixtureError(RuntimeError):
    """The test server could not be found, started or stopped."""


def find_bin_dir() -> Path:
    """Return the newest installed PostgreSQL server's bin dir, or fail naming `make postgres`."""
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        version = Path(initdb).parent.parent.name
        if re.fullmatch(r"\d+(\.\d+)?", version):
            found.append((float(version), Path(initdb).parent))
    if not found:
        raise PostgresFixtureError(INSTALL_HINT)
    return max(found)[1]


def _service_user() -> pwd.struct_passwd:
    """The unprivileged account root hands the server to (initdb refuses to run as root)."""
    try:
        user = pwd.getpwnam(_SERVICE_USER)
    except KeyError:
        raise PostgresFixtureError(
            f"running as root needs the `{_SERVICE_USER}` system user (created by the Debian "
            "package); run `make postgres` or run the tests as a non-root user"
        ) from None
    if shutil.which("runuser") is None:
        raise PostgresFixtureError(
            "running as root needs `runuser` (util-linux) to drop privileges"
        )
    return user


class PostgresServer:
    """One PostgreSQL cluster in a temp dir; use as a context manager or start()/stop()."""

    def __init__(self, *, startup_timeout_s: float = 30.0) -> None:
        self.startup_timeout_s = startup_timeout_s
        self.host = "127.0.0.1"
        self.port = 0
        self.superuser = SUPERUSER
        # Random per server; the superuser logs in over TCP with a password like any client.
        self.password = secrets.token_hex(16)
        self.base_dir: Path | None = None
        self.startup_s = 0.0
        self._bin: Path | None = None
        self._run_as: pwd.struct_passwd | None = None

    def __repr__(self) -> str:
        return f"PostgresServer(host={self.host!r}, port={self.port}, base_dir={self.base_dir})"

    @property
    def data_dir(self) -> Path:
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "sock"

    @property
    def dsn(self) -> str:
        """Superuser DSN for the ``postgres`` maintenance database."""
        return self.dsn_for("postgres")

    def broker_dsn(self, dbname: str, port: int | None = None) -> str:
        """A DSN as a broker config holds one: no password (libpq takes it from `client_env`);
        ``port`` reaches the server through a proxy."""
        return f"postgresql://{self.superuser}@127.0.0.1:{port or self.port}/{dbname}"

    def client_env(self) -> dict[str, str]:
        """What a broker process needs in its environment to log in with `broker_dsn`."""
        return {"PGPASSWORD": self.password, "PGSSLMODE": "disable"}

    def dsn_for(self, dbname: str, user: str | None = None, password: str | None = None) -> str:
        user = user or self.superuser
        password = self.password if password is None else password
        return f"postgresql://{user}:{password}@{self.host}:{self.port}/{dbname}?sslmode=disable"

    def start(self) -> None:
        started = time.monotonic()
        self._bin = find_bin_dir()
        self._run_as = _service_user() if os.geteuid() == 0 else None
        # Short path: the socket path must stay under Linux's 108-byte limit.
        self.base_dir = Path(tempfile.mkdtemp(prefix="sluice-pg-", dir="/tmp"))
        try:
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started

    def stop(self) -> None:
        if self.base_dir is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._pg_ctl_stop()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def create_database(self, prefix: str = "t") -> str:
        """Create an empty database with a unique name; return its superuser DSN."""
        name = f"{prefix}_{secrets.token_hex(6)}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn_for(name)

    def drop_database(self, dsn: str) -> None:
        name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # -- internals -------------------------------------------------------------------------

    def _run(self, args: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
        cmd = [str(self._bin / args[0]), *args[1:]] if self._bin else args
        if self._run_as is not None:
            cmd = ["runuser", "-u", self._run_as.pw_name, "--", *cmd]
        return subprocess.run(
            cmd, cwd=self.base_dir, capture_output=True, text=True, timeout=timeout_s, check=False
        )

    def _initdb(self) -> None:
        assert self.base_dir is not None
        self.socket_dir.mkdir()
        pwfile = self.base_dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._run_as is not None:
            for path in (self.base_dir, self.socket_dir, pwfile):
                os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)
        result = self._run(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.superuser,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            timeout_s=self.startup_timeout_s,
        )
        pwfile.unlink()
        if result.returncode != 0:
            raise PostgresFixtureError(
                f"initdb failed ({result.returncode}): {result.stderr[-2000:]}"
            )

    def _start_server(self) -> None:
        # A free port can be taken between probing and binding: retry a few times.
        for _attempt in range(3):
            self.port = free_port()
            settings = {
                **_SETTINGS,
                "port": str(self.port),
                "unix_socket_directories": f"'{self.socket_dir}'",
            }
            conf = "".join(f"{k} = {v}\n" for k, v in settings.items())
            (self.data_dir / "postgresql.auto.conf").write_text(conf)
            log = self.base_dir / "server.log"  # type: ignore[operator]
            result = self._run(
                [
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    str(int(self.startup_timeout_s)),
                    "start",
                ],
                timeout_s=self.startup_timeout_s + 5,
            )
            if result.returncode == 0:
                self._wait_ready()
                return
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else result.stderr
            if "could not bind" not in tail and "already in use" not in tail:
                raise PostgresFixtureError(f"pg_ctl start failed: {tail}")
        raise PostgresFixtureError("pg_ctl start failed: no free port after 3 attempts")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            try:
                with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise PostgresFixtureError(
                        "PostgreSQL did not accept connections in time"
                    ) from None
                time.sleep(0.05)

    def _pg_ctl_stop(self) -> None:
        result = self._run(
            ["pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "-t", "10", "stop"],
            timeout_s=15,
        )
        if result.returncode != 0:
            # Last resort so no postmaster outlives the run.
            pid_file = self.data_dir / "postmaster.pid"
            if pid_file.exists():
                pid = int(pid_file.read_text().split()[0])
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server shared by the whole session; fails (not skips) if not installed."""
    server = PostgresServer()
    problem = ""
    try:
        server.start()
    except PostgresFixtureError as exc:
        problem = str(exc)
    if problem:  # outside the except block, so the report shows only the hint
        pytest.fail(problem, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> Iterator[str]:
    """Superuser DSN of a fresh, empty database, dropped after the test."""
    dsn = postgres_server.create_database()
    try:
        yield dsn
    finally:
        postgres_server.drop_database(dsn)
