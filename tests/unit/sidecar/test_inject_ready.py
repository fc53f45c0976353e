"""`sluice sidecar ready`, the injected sidecar's startup probe, and the `sidecar` group."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sidecar.cli import sidecar


@pytest.fixture
def listening(short_tmp: Path) -> Iterator[Path]:
    path = short_tmp / "s.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(8)
        yield path


def test_ready_when_a_server_accepts_on_the_socket(listening: Path) -> None:
    """A socket that accepts connections means the session is served: exit 0."""
    result = CliRunner().invoke(sidecar, ["ready", "--socket", str(listening)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("kind", ["missing", "regular-file", "stale-socket"])
def test_not_ready_without_a_live_socket(short_tmp: Path, kind: str) -> None:
    """No file, a plain file, or a socket nobody listens on: exit 1 with a reason."""
    path = short_tmp / "s.sock"
    if kind == "regular-file":
        path.write_text("")
    elif kind == "stale-socket":
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
            dead.bind(str(path))
    result = CliRunner().invoke(sidecar, ["ready", "--socket", str(path)])
    assert result.exit_code == 1
    assert "not_ready" in result.output


def test_ready_waits_for_a_socket_that_appears(short_tmp: Path) -> None:
    """With --wait-s, a socket that comes up meanwhile is waited for (postStart hook use)."""
    path = short_tmp / "s.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def come_up() -> None:
        server.bind(str(path))
        server.listen(1)

    timer = threading.Timer(0.5, come_up)
    timer.start()
    try:
        result = CliRunner().invoke(sidecar, ["ready", "--socket", str(path), "--wait-s", "10"])
    finally:
        timer.join()
        server.close()
    assert result.exit_code == 0, result.output


def test_sidecar_without_subcommand_still_serves() -> None:
    """`sluice sidecar --broker ...` keeps meaning `sluice sidecar serve --broker ...`."""
    args = ["--broker", "ftp://x", "--identity-token-file", "/t", "--socket", "/tmp/s"]
    for argv in (args, ["serve", *args]):
        result = CliRunner().invoke(sidecar, argv)
        assert result.exit_code == 2
        assert "--broker must be an http(s) URL" in result.output


def test_webhook_refuses_a_bad_config_with_exit_2(tmp_path: Path) -> None:
    """A broken config file stops the webhook before it listens, naming the field."""
    config = tmp_path / "webhook.yaml"
    config.write_text("broker_url: http://b\n")
    for name in ("tls.crt", "tls.key"):
        (tmp_path / name).write_text("")
    result = CliRunner().invoke(
        sidecar,
        ["webhook", "--config", str(config), "--tls-cert-file", str(tmp_path / "tls.crt"),
         "--tls-key-file", str(tmp_path / "tls.key")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "config_error" in result.output and "image: required" in result.output
