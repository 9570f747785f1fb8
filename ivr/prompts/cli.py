"""``ivr prompts``: render and inspect the prompt catalogue."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from ivr.prompts.audio import PromptBuilder
from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.errors import PromptError
from ivr.settings import Settings


def _catalogue(settings: Settings) -> PromptCatalogue:
    try:
        return PromptCatalogue.load(settings.prompts_dir)
    except PromptError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def prompts() -> None:
    """Prompt catalogue and audio."""


@prompts.command("build")
@click.option("--asterisk-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also install the WAVs under DIR/puente/<lang>/ (e.g. /var/lib/asterisk/sounds).")
@click.option("--force", is_flag=True, help="Render everything again.")
@click.option("--only", "only", multiple=True, metavar="ID", help="Render only these prompt ids (repeatable).")
@click.option("--lang", "langs", multiple=True, metavar="LANG", help="Render only these languages.")
@click.pass_obj
def build_command(settings: Settings, asterisk_dir: Path | None, force: bool, only: tuple[str, ...],
                  langs: tuple[str, ...]) -> None:
    """Render missing or changed prompt audio (espeak-ng + sox, 8 kHz 16-bit mono WAV)."""
    builder = PromptBuilder(_catalogue(settings))
    try:
        result = asyncio.run(builder.build(only or None, langs or None, force=force, asterisk_dir=asterisk_dir))
    except PromptError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"rendered {len(result.rendered)}, unchanged {len(result.unchanged)}"
               + (f", installed {len(result.copied)} into {asterisk_dir}" if asterisk_dir else ""))


@prompts.command("list")
@click.option("--missing", is_flag=True, help="Only prompts whose audio has not been rendered.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_command(settings: Settings, missing: bool, as_json: bool) -> None:
    """List prompt keys with their text."""
    catalogue = _catalogue(settings)
    missing_keys = set(catalogue.missing_audio())
    rows = []
    for entry in catalogue.entries():
        for lang, text in sorted(entry.texts.items()):
            key = f"{lang}/{entry.prompt_id}"
            if missing and key not in missing_keys:
                continue
            rows.append({"key": key, "version": entry.version, "audio": key not in missing_keys, "text": text})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for row in rows:
        mark = " " if row["audio"] else "!"
        click.echo(f"{mark} {row['key']:<36} {row['text']}")
    click.echo(f"{len(rows)} prompts" + (" without audio" if missing else f", {len(missing_keys)} without audio"))
