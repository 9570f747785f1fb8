"""Rendering prompt audio from the catalogue's text: espeak-ng piped to sox.

Output: 8 kHz, 16-bit, mono WAV (what Asterisk plays as slin, and what the built-in endpoint
encodes to PCMU) at ``<prompts_dir>/audio/<lang>/<id>.wav``. A sidecar manifest
(``audio/manifest.json``) keeps a hash of text + voice + render settings per key, so a build renders
only what is missing or changed, and a second build renders nothing.
"""

from __future__ import annotations

import asyncio
import filecmp
import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.errors import RenderError, ToolMissing

log = logging.getLogger(__name__)

VOICES = {"es": "es", "en": "en-us"}
SAMPLE_RATE = 8000
RENDER_SETTINGS = f"espeak-ng|sox -r {SAMPLE_RATE} -c 1 -b 16 -e signed-integer|v1"
MANIFEST_NAME = "manifest.json"
ASTERISK_SUBDIR = "puente"
_LANG_TAG = re.compile(r"\[([a-z]{2})\]")


@dataclass(frozen=True, slots=True)
class Tools:
    espeak: str
    sox: str


def find_tools() -> Tools:
    missing = [name for name in ("espeak-ng", "sox") if shutil.which(name) is None]
    if missing:
        raise ToolMissing(
            f"{' and '.join(missing)} not found on PATH: prompt audio is rendered with espeak-ng and sox "
            f"(Debian: apt-get install {' '.join(missing)}; or run `make system-deps`)"
        )
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    assert espeak is not None and sox is not None
    return Tools(espeak, sox)


def voice_for(lang: str) -> str:
    return VOICES.get(lang, lang)


def prompt_hash(text: str, voice: str) -> str:
    return hashlib.sha256(f"{RENDER_SETTINGS}\0{voice}\0{text}".encode()).hexdigest()[:20]


def to_ssml(text: str) -> str | None:
    """``"[en] For English... [es] Para español..."`` -> SSML with one voice per part (None: no tags)."""
    parts = _LANG_TAG.split(text)
    if len(parts) == 1:
        return None
    body = escape(parts[0].strip())
    for lang, chunk in zip(parts[1::2], parts[2::2], strict=True):
        if chunk.strip():
            body += f' <voice xml:lang="{voice_for(lang)}">{escape(chunk.strip())}</voice>'
    return f"<speak>{body.strip()}</speak>"


@dataclass
class BuildResult:
    rendered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)


async def render_one(tools: Tools, text: str, lang: str, out: Path) -> None:
    """Render one text to ``out`` (atomically: a partial file never replaces a good one)."""
    ssml = to_ssml(text)
    args = [tools.espeak, "-v", voice_for(lang), "--stdout", "--stdin"]
    if ssml is not None:
        args.insert(1, "-m")
    speech = await _run(args, (ssml or text).encode("utf-8"), "espeak-ng")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    await _run(
        [tools.sox, "-G", "-D", "-t", "wav", "-", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
         "-e", "signed-integer", "-t", "wav", str(tmp)],
        speech, "sox",
    )
    os.replace(tmp, out)


async def _run(args: list[str], stdin: bytes, tool: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate(stdin)
    if proc.returncode != 0:
        raise RenderError(f"{tool} failed ({proc.returncode}): {err.decode(errors='replace').strip()[:300]}")
    return out


class PromptBuilder:
    def __init__(self, catalogue: PromptCatalogue, *, tools: Tools | None = None, jobs: int = 2) -> None:
        self.catalogue = catalogue
        self.audio_dir = catalogue.audio_dir
        self.manifest_path = self.audio_dir / MANIFEST_NAME
        self._tools = tools
        self._jobs = max(1, jobs)

    def load_manifest(self) -> dict[str, str]:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            log.warning("prompt manifest unreadable; re-rendering everything", extra={"path": str(self.manifest_path)})
            return {}
        prompts = data.get("prompts") if isinstance(data, dict) else None
        return {str(k): str(v) for k, v in prompts.items()} if isinstance(prompts, dict) else {}

    def _save_manifest(self, manifest: dict[str, str]) -> None:
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_name(f".{MANIFEST_NAME}.tmp")
        tmp.write_text(json.dumps({"settings": RENDER_SETTINGS, "prompts": dict(sorted(manifest.items()))},
                                  indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.manifest_path)

    def plan(self, ids: Iterable[str] | None = None, langs: Iterable[str] | None = None,
             *, force: bool = False) -> tuple[list[tuple[str, str, str]], list[str]]:
        """(to render as (key, text, hash), unchanged keys)."""
        wanted = set(ids) if ids is not None else None
        lang_set = set(langs) if langs is not None else None
        manifest = self.load_manifest()
        todo: list[tuple[str, str, str]] = []
        unchanged: list[str] = []
        for entry in self.catalogue.entries():
            if wanted is not None and entry.prompt_id not in wanted:
                continue
            for lang, text in sorted(entry.texts.items()):
                if lang_set is not None and lang not in lang_set:
                    continue
                key = f"{lang}/{entry.prompt_id}"
                digest = prompt_hash(text, voice_for(lang))
                exists = self.catalogue.path(key).is_file()
                if force or not exists or manifest.get(key) != digest:
                    todo.append((key, text, digest))
                else:
                    unchanged.append(key)
        return todo, unchanged

    async def build(self, ids: Iterable[str] | None = None, langs: Iterable[str] | None = None, *,
                    force: bool = False, asterisk_dir: Path | None = None) -> BuildResult:
        id_list = list(ids) if ids is not None else None
        if id_list is not None:
            unknown = [i for i in id_list if i not in set(self.catalogue.ids())]
            if unknown:
                raise RenderError(f"unknown prompt ids: {', '.join(unknown)}")
        todo, unchanged = self.plan(id_list, langs, force=force)
        result = BuildResult(unchanged=unchanged)
        if todo:
            tools = self._tools or find_tools()
            manifest = self.load_manifest()
            limit = asyncio.Semaphore(self._jobs)

            async def one(key: str, text: str, digest: str) -> None:
                async with limit:
                    lang = key.split("/", 1)[0]
                    await render_one(tools, text, lang, self.catalogue.path(key))
                manifest[key] = digest
                result.rendered.append(key)

            try:
                async with asyncio.TaskGroup() as tg:
                    for key, text, digest in todo:
                        tg.create_task(one(key, text, digest))
            finally:
                self._save_manifest(manifest)  # keep what was rendered even if one prompt failed
        if asterisk_dir is not None:
            keys = [k for k, _, _ in todo] + unchanged
            result.copied = self.install(asterisk_dir, keys)
        result.rendered.sort()
        return result

    def install(self, asterisk_dir: Path, keys: Iterable[str]) -> list[str]:
        """Copy WAVs to ``<asterisk_dir>/puente/<lang>/<id>.wav`` where they differ or are missing."""
        copied: list[str] = []
        for key in sorted(keys):
            src = self.catalogue.path(key)
            dest = asterisk_dir / ASTERISK_SUBDIR / f"{key}.wav"
            if dest.is_file() and filecmp.cmp(src, dest, shallow=False):
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            copied.append(key)
        return copied
