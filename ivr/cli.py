"""``ivr``: the command line. Each domain owns its command group; this root only lists them, and
turns configuration and start-up failures into one line naming the fix (no traceback)."""

from __future__ import annotations

import importlib
import logging
from typing import Any

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


# Errors that mean "the configuration or the environment is wrong", whatever command met them: their
# message is already one line for people. Imported only when a command failed.
ONE_LINE_ERRORS: tuple[str, ...] = (
    "ivr.settings:SettingsError",
    "ivr.errors:StartupError",
    "ivr.db.readiness:DatabaseNotReady",
    "ivr.loops:EventLoopUnavailable",
    "ivr.acd.config:ConfigError",
    "ivr.flows.loader:FlowError",
    "ivr.schedules.errors:ScheduleError",
    "ivr.prompts.errors:CatalogueError",
    "callbacks.errors:PolicyConfigError",
)


def _one_line_types() -> tuple[type[BaseException], ...]:
    found = []
    for target in ONE_LINE_ERRORS:
        module_name, attr = target.split(":")
        found.append(getattr(importlib.import_module(module_name), attr))
    return tuple(found)


def one_line_failure(exc: BaseException) -> str | None:
    """The message of the first known configuration/start-up error in ``exc`` (an exception group
    from the server's task group included: the first component that failed), else None."""
    known = _one_line_types()
    if isinstance(exc, known):
        return " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            message = one_line_failure(inner)
            if message is not None:
                return message
    return None


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:  # re-raised below unless it is a known one-line failure
            message = one_line_failure(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None

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
@click.option("--config", "config_file", metavar="FILE",
              help="YAML config file (also IVR_CONFIG; default: IVR_HOME/puente.yaml when it exists).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def main(ctx: click.Context, config_file: str | None, verbose: bool) -> None:
    """Puente: an IVR server for customer-support phone lines."""
    from ivr.settings import load_settings

    ctx.obj = load_settings(config_file=config_file)
    if verbose:
        logging.getLogger().setLevel(logging.DEBUG)
