"""``ivr flows``: check flow files, show a flow."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from ivr.flows.checking import FlowChecker, check_paths, limits_of
from ivr.flows.loader import FlowError, FlowSet
from ivr.flows.references import queue_names, schedule_names
from ivr.flows.validate import Problem, References
from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.errors import CatalogueError
from ivr.settings import Settings


@click.group()
def flows() -> None:
    """Call flows (dialplan/flows/*.yaml)."""


@flows.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--prompts", "prompts_dir", type=click.Path(path_type=Path), default=None,
              help="Prompt folder with catalogue/ (default: the configured prompts_dir).")
@click.option("--queues", "queues_file", type=click.Path(path_type=Path), default=None,
              help="Queue definitions, top-level `queues:` (default: queues.yaml beside the flows folder).")
@click.option("--schedules", "schedules_file", type=click.Path(path_type=Path), default=None,
              help="Schedule definitions, top-level `schedules:` (default: schedules.yaml beside the flows folder).")
@click.pass_obj
def check(
    settings: Settings | None, paths: tuple[Path, ...], prompts_dir: Path | None, queues_file: Path | None,
    schedules_file: Path | None,
) -> None:
    """Check flow files (default: the configured flows folder). One line per problem:
    ``file:node: what is wrong``; exit status 1 when there is any. Each file is checked in a worker
    process under the limits of the `flows` settings (size, nesting, values, nodes, no YAML
    aliases) and their deadline, exactly as the admin API checks a draft."""
    settings = settings or Settings()
    problems: list[Problem] = []
    dialplan = settings.flows_dir.parent  # dialplan/{flows/,queues.yaml,schedules.yaml}
    refs = References(
        prompts=_catalogue(prompts_dir or settings.prompts_dir, problems),
        queues=_names(queue_names, queues_file or dialplan / "queues.yaml", problems),
        schedules=_names(schedule_names, schedules_file or dialplan / "schedules.yaml", problems),
    )
    targets = list(paths) or [settings.flows_dir]
    problems.extend(asyncio.run(_check(targets, refs, settings)))
    for problem in problems:
        click.echo(str(problem))
    # The verdict is the command's result: on stdout, one newline-terminated line either way.
    if problems:
        click.echo(f"{len(problems)} problem(s)")
        sys.exit(1)
    click.echo(f"ok: {', '.join(str(p) for p in targets)}")


async def _check(targets: list[Path], refs: References, settings: Settings) -> list[Problem]:
    checker = FlowChecker(refs, limits_of(settings))
    try:
        return await check_paths(targets, checker)
    finally:
        await checker.aclose()


def _catalogue(prompts_dir: Path, problems: list[Problem]) -> PromptCatalogue | None:
    try:
        return PromptCatalogue.load(prompts_dir)
    except CatalogueError as exc:
        problems.append(Problem(str(prompts_dir), None, f"prompt catalogue: {exc}"))
        return None


def _names(
    read: Callable[[Path], frozenset[str]], path: Path, problems: list[Problem]
) -> frozenset[str] | None:
    try:
        names = read(path)
    except (OSError, ValueError) as exc:
        problems.append(Problem(str(path), None, f"cannot read: {exc}"))
        return None
    return names


@flows.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the flow as JSON.")
@click.option("--dir", "flows_dir", type=click.Path(path_type=Path), default=None,
              help="Flows folder (default: the configured flows_dir).")
@click.pass_obj
def show(settings: Settings | None, name: str, as_json: bool, flows_dir: Path | None) -> None:
    """Show one flow (by name) as loaded."""
    settings = settings or Settings()
    try:
        flow_set = FlowSet.load(flows_dir or settings.flows_dir, limits_of(settings))
        flow = flow_set.by_name(name)
    except FlowError as exc:
        raise click.ClickException(str(exc)) from exc
    data = flow.model_dump(mode="json", by_alias=True, exclude_defaults=False)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"{flow.name}: {flow.description or ''}".rstrip(": "))
    click.echo(f"  numbers: {', '.join(flow.numbers) or '-'}  default: {flow.default}  "
               f"languages: {', '.join(flow.languages)}  schedule: {flow.schedule or '-'}")
    click.echo(f"  start: {flow.start}")
    for node_id, node in flow.nodes.items():
        targets = ", ".join(f"{role} -> {target}" for role, target in node.successors())
        click.echo(f"  {node_id} [{node.kind}] {targets}")
