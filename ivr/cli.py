"""``ivr``: the command line. Each domain owns its command group; this root only lists them."""

from __future__ import annotations

import importlib
import logging

import click

# name -> "module:attribute" of a click command or group, imported only when used.
COMMANDS: dict[str, str] = {
    "serve": "ivr.serve:serve_command",
    "asterisk": "ivr.asterisk.cli:asterisk",
    "db": "ivr.db.cli:db",
    "config": "ivr.settings_cli:config",
    "calls": "ivr.calls.cli:calls",
    "flows": "ivr.flows.cli:flows",
    "schedules": "ivr.schedules.cli:schedules",
    "prompts": "ivr.prompts.cli:prompts",
    "queues": "ivr.acd.cli:queues",
    "agents": "ivr.acd.cli:agents",
    "models": "ivr.speech.cli:models",
    "callbacks": "callbacks.cli:callbacks",
    "deflections": "deflection.cli:deflections",
    "optouts": "deflection.cli:optouts",
    "users": "api.cli:users",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        command = getattr(module, attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup)
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), envvar="IVR_CONFIG",
              help="YAML config file (also IVR_CONFIG).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def main(ctx: click.Context, config_file: str | None, verbose: bool) -> None:
    """Puente: an IVR server for customer-support phone lines."""
    from ivr.settings import load_settings

    ctx.obj = load_settings(config_file=config_file)
    if verbose:
        logging.getLogger().setLevel(logging.DEBUG)
