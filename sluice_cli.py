"""The `sluice` console command: one group, each package contributes its own commands.

Commands are imported lazily so that `sluice redact` in a log pipeline does not pay for
aiohttp, hvac and the broker's imports (see FACTS: each costs tens of MB of RSS).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# command name -> "module:attribute" of a click command or group defined in that package.
COMMANDS: dict[str, str] = {
    "broker": "broker.cli:broker",
    "sidecar": "sidecar.cli:sidecar",
    "run": "sidecar.cli:run",
    "scan": "scanners.cli:scan",
    "redact": "scanners.cli:redact",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a package not built yet in this checkout
            raise click.ClickException(f"command {cmd_name!r} is unavailable: {exc}") from exc
        command: Any = getattr(module, attr)
        return command  # type: ignore[no-any-return]


@click.group(cls=LazyGroup)
@click.version_option(package_name="sluice")
def main() -> None:
    """Sluice: short-lived workload credentials in, leaked secrets out."""


if __name__ == "__main__":
    main()
