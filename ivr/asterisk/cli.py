"""``ivr asterisk render DIR`` and ``ivr asterisk check DIR``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import click

from ivr.acd.config import AgentConfig, ConfigError, QueueConfig, load_agents, load_queues
from ivr.acd.plugin import config_paths
from ivr.asterisk import check as chk
from ivr.asterisk.checkfiles import Inputs, data_dir_of, read_dir
from ivr.asterisk.checkmodules import needed_modules
from ivr.asterisk.findings import Finding
from ivr.asterisk.modules import with_requirements
from ivr.asterisk.render import (
    MANAGER_SECRETS,
    PJSIP_SECRETS,
    PJSIP_SITE,
    existing_passwords,
    pjsip_agents,
    render_manager_secrets,
    render_pjsip,
    render_pjsip_secrets,
    render_queues,
    write_private,
)
from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.errors import PromptError
from ivr.settings import PROJECT_ROOT, Settings

CHECK_NAMES = {c.__name__.removeprefix("check_"): c for c in chk.ALL_CHECKS}


def _puente_config(settings: Settings) -> tuple[dict[str, QueueConfig], dict[str, AgentConfig], Path]:
    queues_path, agents_path = config_paths(settings)
    try:
        return load_queues(queues_path), load_agents(agents_path), agents_path
    except (ConfigError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group("asterisk")
def asterisk() -> None:
    """Asterisk's configuration: render Puente's part of it, check it fits this Puente."""


@asterisk.command("render")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--secrets", is_flag=True,
              help=f"Also write {PJSIP_SECRETS} (SIP passwords: PUENTE_SIP_PASSWORD_<NAME>, the earlier value, "
                   f"or random) and {MANAGER_SECRETS} (IVR_AMI__SECRET), mode 0600.")
@click.pass_obj
def render_command(settings: Settings, *, directory: Path, secrets: bool) -> None:
    """Write DIRECTORY/pjsip.conf and queues.conf from dialplan/agents.yaml and queues.yaml."""
    queues, agents, _ = _puente_config(settings)
    directory.mkdir(parents=True, exist_ok=True)
    site = directory / PJSIP_SITE
    if not site.exists():  # yours to edit: the shipped sample once, never overwritten
        shutil.copyfile(PROJECT_ROOT / "dialplan" / "asterisk" / PJSIP_SITE, site)
        click.echo(f"wrote {site} (the transport and the trunk: edit it)")
    (directory / "pjsip.conf").write_text(render_pjsip(agents), encoding="utf-8")
    (directory / "queues.conf").write_text(render_queues(queues, agents), encoding="utf-8")
    click.echo(f"wrote {directory / 'pjsip.conf'} ({len(pjsip_agents(agents))} agents) and "
               f"{directory / 'queues.conf'} ({len(queues)} fallback queues)")
    if not secrets:
        return
    try:
        pjsip = render_pjsip_secrets(agents, os.environ, existing_passwords(directory / PJSIP_SECRETS))
        manager = render_manager_secrets(settings.ami.username, settings.ami.secret)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    write_private(directory / PJSIP_SECRETS, pjsip.text)
    write_private(directory / MANAGER_SECRETS, manager)
    click.echo(f"wrote {directory / PJSIP_SECRETS} and {directory / MANAGER_SECRETS} (mode 0600)")
    if pjsip.generated:
        click.echo("random passwords for: " + ", ".join(pjsip.generated) + f" (read them in {PJSIP_SECRETS})")


@asterisk.command("check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Asterisk's astdatadir (sounds/, moh/); default: asterisk.conf's, if in DIRECTORY.")
@click.option("--ami", "ami_address", metavar="HOST:PORT", default=None,
              help="Also ask the running Asterisk over AMI (user/secret: IVR_AMI__USERNAME / IVR_AMI__SECRET).")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="AMI login deadline (seconds).")
@click.option("--skip", multiple=True, type=click.Choice(sorted(CHECK_NAMES)), help="Leave a check out (repeatable).")
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the result as JSON (what /ready shows: var/asterisk-check.json).")
@click.pass_obj
def check_command(settings: Settings, *, directory: Path, data_dir: Path | None, ami_address: str | None,
                  timeout: float, skip: tuple[str, ...], record: Path | None) -> None:
    """Report every way DIRECTORY does not fit this Puente: one 'file:line: problem — fix' line each.
    Exit status 1 when there are problems (notes do not count)."""
    inputs = inputs_for(settings, directory, data_dir)
    findings = chk.run_checks(inputs, [c for name, c in CHECK_NAMES.items() if name not in skip])
    if ami_address is not None:
        findings += _live(settings, ami_address, inputs, timeout)
    for finding in findings:
        click.echo(finding.render())
    found = chk.problems(findings)
    click.echo(f"{len(found)} problem(s), {len(findings) - len(found)} note(s) in {directory}", err=True)
    if record is not None:
        _record(record, directory, found)
    if found:
        raise SystemExit(1)


def inputs_for(settings: Settings, directory: Path, data_dir: Path | None = None) -> Inputs:
    """Everything the checks read: DIRECTORY's files and this Puente's agents, queues and prompts."""
    queues, agents, agents_path = _puente_config(settings)
    files, read_errors = read_dir(directory)
    return Inputs(conf_dir=directory, files=files, settings=settings, agents=agents, queues=queues,
                  agents_path=agents_path, data_dir=data_dir_of(files, data_dir),
                  prompt_keys=_prompt_keys(settings), read_errors=tuple(read_errors))


def _prompt_keys(settings: Settings) -> tuple[str, ...]:
    try:
        catalogue = PromptCatalogue.load(settings.prompts_dir)
    except PromptError as exc:
        raise click.ClickException(str(exc)) from None
    return tuple(f"{lang}/{e.prompt_id}" for e in catalogue.entries() for lang in sorted(e.texts))


def _live(settings: Settings, address: str, inputs: Inputs, timeout: float) -> list[Finding]:
    from ivr.asterisk.live import live_findings

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"{address!r}: expected HOST:PORT", param_hint="--ami")
    ami = settings.ami.model_copy(update={"host": host, "port": int(port)})
    needs, _ = needed_modules(inputs.file("extensions.conf"))
    endpoints = [a.endpoint for a in pjsip_agents(inputs.agents)]
    return asyncio.run(live_findings(ami, with_requirements(needs), endpoints, timeout=timeout))


def _record(path: Path, directory: Path, found: list[Finding]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"checked_at": datetime.now(UTC).isoformat(timespec="seconds"), "directory": str(directory),
            "problems": [f.render() for f in found]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
