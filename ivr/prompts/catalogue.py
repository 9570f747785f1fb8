"""The prompt catalogue: ``prompts/catalogue/*.yaml``, one file per domain.

File format::

    version: "3"              # the texts' version (recorded with consents, shown by `prompts list`)
    prompts:
      greeting:
        es: "Bienvenido a ..."
        en: "Welcome to ..."
      num/21:                 # ids may have folders
        es: "veintiuno"
        en: "twenty-one"
        version: "4"          # optional per-prompt version (default: the file's)

A prompt is played by key ``<lang>/<id>`` (:class:`ivr.channel.PromptFile`); its audio lives at
``<prompts_dir>/audio/<lang>/<id>.wav``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr.channel import PromptFile
from ivr.prompts.errors import CatalogueError, UnknownPrompt

PROMPT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")
LANG_RE = re.compile(r"^[a-z]{2}$")
CATALOGUE_DIR = "catalogue"
AUDIO_DIR = "audio"


@dataclass(frozen=True, slots=True)
class PromptEntry:
    prompt_id: str
    texts: dict[str, str]  # lang -> text
    version: str
    source: Path  # the catalogue file that defines it


class PromptCatalogue:
    """Every prompt's text per language; maps prompt keys to audio files."""

    def __init__(self, prompts_dir: Path, entries: dict[str, PromptEntry]) -> None:
        self.prompts_dir = prompts_dir
        self.audio_dir = prompts_dir / AUDIO_DIR
        self._entries = entries
        langs: set[str] = set()
        for entry in entries.values():
            langs.update(entry.texts)
        self.languages: tuple[str, ...] = tuple(sorted(langs))

    @classmethod
    def load(cls, prompts_dir: Path) -> PromptCatalogue:
        folder = prompts_dir / CATALOGUE_DIR
        if not folder.is_dir():
            raise CatalogueError(f"{folder}: the prompt catalogue folder does not exist")
        entries: dict[str, PromptEntry] = {}
        for path in sorted(folder.glob("*.yaml")):
            for entry in _parse_file(path):
                earlier = entries.get(entry.prompt_id)
                if earlier is not None:
                    raise CatalogueError(
                        f"{path}: prompt {entry.prompt_id!r}: already defined in {earlier.source.name}"
                    )
                entries[entry.prompt_id] = entry
        return cls(prompts_dir, entries)

    # ------------------------------------------------------------------ queries
    def ids(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> Iterator[PromptEntry]:
        for prompt_id in self.ids():
            yield self._entries[prompt_id]

    def has(self, prompt_id: str, lang: str) -> bool:
        return self.find(prompt_id, lang) is not None

    def text(self, prompt_id: str, lang: str) -> str:
        entry = self._entries.get(prompt_id)
        if entry is None or lang not in entry.texts:
            raise UnknownPrompt(prompt_id, lang)
        return entry.texts[lang]

    def file(self, prompt_id: str, lang: str) -> PromptFile:
        found = self.find(prompt_id, lang)
        if found is None:
            raise UnknownPrompt(prompt_id, lang)
        return found

    def find(self, prompt_id: str, lang: str) -> PromptFile | None:
        """The prompt's file in that language, or None (one lookup: every prompt of every call asks)."""
        entry = self._entries.get(prompt_id)
        return PromptFile(f"{lang}/{prompt_id}") if entry is not None and lang in entry.texts else None

    def version(self, prompt_id: str) -> str:
        entry = self._entries.get(prompt_id)
        if entry is None:
            raise UnknownPrompt(prompt_id, "*")
        return entry.version

    def path(self, key: str) -> Path:
        """The WAV file for a prompt key (``es/greeting``); the key must name a catalogued prompt."""
        lang, _, prompt_id = key.partition("/")
        if not self.has(prompt_id, lang):
            raise UnknownPrompt(prompt_id, lang)
        return self.audio_dir / lang / f"{prompt_id}.wav"

    def missing_audio(self) -> list[str]:
        """Keys whose WAV file does not exist yet."""
        return [
            f"{lang}/{e.prompt_id}"
            for e in self.entries()
            for lang in sorted(e.texts)
            if not (self.audio_dir / lang / f"{e.prompt_id}.wav").is_file()
        ]


def _parse_file(path: Path) -> list[PromptEntry]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{path}: must be a mapping with 'version' and 'prompts'")
    unknown = set(data) - {"version", "prompts"}
    if unknown:
        raise CatalogueError(f"{path}: unknown top-level keys: {', '.join(sorted(map(str, unknown)))}")
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise CatalogueError(f"{path}: 'version' must be a non-empty string (quote it: version: \"1\")")
    prompts = data.get("prompts")
    if not isinstance(prompts, dict) or not prompts:
        raise CatalogueError(f"{path}: 'prompts' must be a non-empty mapping of id -> texts")
    return [_parse_entry(path, version, prompt_id, body) for prompt_id, body in prompts.items()]


def _parse_entry(path: Path, file_version: str, prompt_id: Any, body: Any) -> PromptEntry:
    if not isinstance(prompt_id, str) or not PROMPT_ID_RE.match(prompt_id):
        raise CatalogueError(
            f"{path}: prompt {prompt_id!r}: invalid id (lower-case letters, digits, '_', '-', '/' folders)"
        )
    if not isinstance(body, dict):
        raise CatalogueError(f"{path}: prompt {prompt_id!r}: must map languages to texts")
    texts: dict[str, str] = {}
    version = file_version
    for key, value in body.items():
        if key == "version":
            if not isinstance(value, str) or not value:
                raise CatalogueError(f"{path}: prompt {prompt_id!r}: 'version' must be a non-empty string")
            version = value
            continue
        if not isinstance(key, str) or not LANG_RE.match(key):
            raise CatalogueError(f"{path}: prompt {prompt_id!r}: {key!r} is not a language code (es, en)")
        if not isinstance(value, str) or not value.strip():
            raise CatalogueError(f"{path}: prompt {prompt_id!r}: text for {key!r} must be a non-empty string")
        texts[key] = value.strip()
    if not texts:
        raise CatalogueError(f"{path}: prompt {prompt_id!r}: no text in any language")
    return PromptEntry(prompt_id=prompt_id, texts=texts, version=version, source=path)
