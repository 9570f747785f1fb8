"""``ivr config show`` (the effective settings, secrets hidden) and ``ivr config reference``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click
from pydantic import BaseModel

from ivr.settings import PROJECT_ROOT, Settings

SECRET_WORDS = ("secret", "token", "password")
# Settings whose default depends on where Puente runs, or that are not a single value.
TOP_LEVEL_ROWS: dict[str, tuple[str, str]] = {
    "config_file": ("IVR_CONFIG", "(empty: IVR_HOME/puente.yaml when it exists)"),
    "home": ("IVR_HOME", "the checkout Puente runs from, else $XDG_DATA_HOME/puente"),
    "queues": ("IVR_QUEUES__<QUEUE>__<FIELD>", "(empty: dialplan/queues.yaml as it is)"),
}


# Not settings: what loading noticed (deprecated names), for `ivr serve` to warn about.
NOT_SETTINGS = frozenset({"deprecated_keys"})


def reference_rows(model: type[BaseModel] = Settings, env: str = "IVR_") -> Iterator[tuple[str, str]]:
    """(environment variable, default) for every setting, nested sections flattened with ``__``."""
    for name, field in model.model_fields.items():
        if model is Settings and name in NOT_SETTINGS:
            continue
        if model is Settings and name in TOP_LEVEL_ROWS:
            yield TOP_LEVEL_ROWS[name]
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            yield from reference_rows(type(default), f"{env}{name.upper()}__")
        elif name == "languages" and isinstance(default, dict):
            engines = ", ".join(f"{lang}: {cfg.engine}" for lang, cfg in default.items())
            yield f"{env}{name.upper()}__<LANG>__ENGINE / __MODEL_PATH", engines
            gates = ", ".join(f"{lang}: {cfg.whisper_min_snr_db:g}" for lang, cfg in default.items()
                              if cfg.whisper_min_snr_db is not None) or "(empty)"
            yield f"{env}{name.upper()}__<LANG>__WHISPER_MIN_SNR_DB", gates
            noisy = ", ".join(f"{lang}: {cfg.noisy_engine}" for lang, cfg in default.items())
            yield f"{env}{name.upper()}__<LANG>__NOISY_ENGINE", noisy
            windows = ", ".join(f"{lang}: {cfg.whisper_window_seconds:g}" for lang, cfg in default.items())
            yield f"{env}{name.upper()}__<LANG>__WHISPER_WINDOW_SECONDS", windows
        else:
            text = str(default).replace(str(PROJECT_ROOT) + "/", "") if default not in ("", None) else "(empty)"
            yield f"{env}{name.upper()}", text


def reference_markdown() -> str:
    lines = ["| environment variable | default |", "|---|---|"]
    lines += [f"| `{env}` | `{default}` |" for env, default in reference_rows()]
    return "\n".join(lines) + "\n"


def _redact(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: ("***" if any(w in k for w in SECRET_WORDS) and v else _redact(v)) for k, v in data.items()}
    return data


@click.group("config")
def config() -> None:
    """Settings: what is in effect, and every variable there is."""


@config.command("show")
@click.pass_obj
def show(settings: Settings) -> None:
    """The effective settings as JSON (secrets shown as ***)."""
    click.echo(json.dumps(_redact(settings.model_dump(mode="json")), indent=2))


@config.command("reference")
def reference() -> None:
    """Every setting as a Markdown table (the README's configuration reference)."""
    click.echo(reference_markdown(), nl=False)
