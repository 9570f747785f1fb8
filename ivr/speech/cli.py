"""``ivr models``: which speech engine and model serves each language; fetch official Vosk models."""

from __future__ import annotations

import click

from ivr.settings import Settings
from ivr.speech.models import ModelFetchError, fetch_model, inventory


@click.group()
def models() -> None:
    """Speech models per language."""


@models.command("list")
@click.pass_obj
def list_models(settings: Settings) -> None:
    """Configured engine and model per language, and whether the model is on disk."""
    for entry in inventory(settings):
        state = "present" if entry.present else ("-" if entry.engine == "none" else "MISSING")
        path = str(entry.path) if entry.path else "-"
        note = f"  ({entry.note})" if entry.note else ""
        click.echo(f"{entry.language:<6} {entry.engine:<13} {state:<8} {path}{note}")


@models.command("fetch")
@click.argument("language")
@click.option("--timeout", default=30.0, show_default=True, help="Network timeout in seconds.")
@click.pass_obj
def fetch(settings: Settings, language: str, timeout: float) -> None:
    """Download the official small Vosk model for LANGUAGE into the models folder."""
    try:
        path = fetch_model(settings, language, timeout=timeout)
    except ModelFetchError as exc:
        raise click.ClickException(f"{exc}\nDownload it on a machine with internet access, unpack it, and set "
                                   f"speech.languages.{language}.model_path to its folder.") from exc
    click.echo(f"{language}: {path}")
    click.echo(f"Set speech.languages.{language}: {{engine: vosk, model_path: {path}}} to use it.")
