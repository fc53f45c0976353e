"""The webhook's injection config file: defaults, validation, all problems reported at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sidecar.errors import ConfigError
from sidecar.inject import InjectionConfig
from sidecar.webhook import load_config, read_config

MINIMAL = {"image": "ghcr.io/sluice/sluice:0.1.0", "broker_url": "http://broker:80"}


def test_minimal_config_gets_safe_defaults() -> None:
    """Image and broker URL are enough; the rest defaults to a 600 s token, a memory socket
    dir, a native sidecar and failure policy Fail."""
    config = load_config(dict(MINIMAL))
    assert config == InjectionConfig(**MINIMAL)
    assert (config.token_expiration_s, config.native_sidecar, config.failure_policy) == (
        600,
        True,
        "Fail",
    )
    assert config.socket_path == "/var/run/sluice/sidecar/sluice.sock"


def test_every_field_round_trips() -> None:
    """Each documented field is read, lists becoming tuples."""
    raw: dict[str, Any] = {
        **MINIMAL, "audience": "aud", "token_expiration_s": 3600, "socket_dir": "/run/s",
        "image_pull_policy": "Always", "run_as_user": 1000,
        "resources": {"requests": {"cpu": "10m"}, "limits": {"memory": "64Mi"}},
        "log_level": "DEBUG", "allow_uids": [1001], "extra_args": ["--log-level", "DEBUG"],
        "native_sidecar": False, "startup_timeout_s": 30, "failure_policy": "Ignore",
    }  # fmt: skip
    config = load_config(raw)
    assert config.allow_uids == (1001,) and config.extra_args == ("--log-level", "DEBUG")
    assert config.socket_path == "/run/s/sidecar/sluice.sock"
    assert (config.native_sidecar, config.failure_policy) == (False, "Ignore")


def test_all_problems_are_reported_together() -> None:
    """One error names every bad field, so a broken values file is fixed in one go."""
    raw = {
        "broker_url": "ftp://x", "token_expiration_s": 60, "run_as_user": 0,
        "failure_policy": "Maybe", "native_sidecar": "yes", "socket_dir": "relative",
        "resources": {"requests": "lots"}, "colour": "blue",
    }  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    message = caught.value.message
    for field in (
        "image: required", "broker_url", "token_expiration_s", "run_as_user", "failure_policy",
        "native_sidecar", "socket_dir", "resources", "colour: unknown field",
    ):  # fmt: skip
        assert field in message


@pytest.mark.parametrize("raw", [None, [], "image: x"])
def test_a_config_that_is_not_a_mapping_is_refused(raw: Any) -> None:
    """A file that is empty or a list is a config error, not a crash."""
    with pytest.raises(ConfigError):
        load_config(raw)


def test_read_config_reports_unreadable_and_non_yaml_files(tmp_path: Path) -> None:
    """Missing files and YAML syntax errors are config errors naming the file."""
    with pytest.raises(ConfigError, match="cannot read"):
        read_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("image: [unclosed\n")
    with pytest.raises(ConfigError, match="not YAML"):
        read_config(bad)
