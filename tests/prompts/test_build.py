"""Rendering prompt audio with the real espeak-ng and sox (a handful of prompts, into tmp dirs)."""

from __future__ import annotations

import asyncio
import shutil
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.prompts.audio import MANIFEST_NAME, PromptBuilder, find_tools, to_ssml
from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.errors import RenderError, ToolMissing
from ivr.settings import PROJECT_ROOT

SUBSET = ["greeting", "num/7", "language_choice"]

needs_tools = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox are installed by `make test` (scripts/install-system-deps.sh)",
)


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    """A copy of the shipped catalogue with an empty audio folder."""
    root = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts" / "catalogue", root / "catalogue")
    return root


def wav_format(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth() * 8, w.getnframes() / w.getframerate()


@needs_tools
async def test_build_renders_8khz_mono_16bit_and_is_idempotent(prompts_dir: Path, tmp_path: Path) -> None:
    builder = PromptBuilder(PromptCatalogue.load(prompts_dir))
    first = await builder.build(SUBSET)
    assert first.rendered == sorted(f"{lang}/{i}" for i in SUBSET for lang in ("en", "es"))
    for key in first.rendered:
        rate, channels, bits, seconds = wav_format(prompts_dir / "audio" / f"{key}.wav")
        assert (rate, channels, bits) == (8000, 1, 16), key
        assert 0.2 < seconds < 10, key
    # the bilingual prompt holds both sentences: clearly longer than a single word
    assert wav_format(prompts_dir / "audio" / "es" / "language_choice.wav")[3] > 2.5
    assert (prompts_dir / "audio" / MANIFEST_NAME).is_file()

    second = await builder.build(SUBSET)
    assert second.rendered == [] and len(second.unchanged) == 6

    # a changed text re-renders that prompt only (in every language whose text changed)
    core = prompts_dir / "catalogue" / "core.yaml"
    core.write_text(core.read_text(encoding="utf-8").replace(
        "Welcome to Puente customer support.", "Welcome to Puente."), encoding="utf-8")
    builder = PromptBuilder(PromptCatalogue.load(prompts_dir))
    changed = await builder.build(SUBSET)
    assert changed.rendered == ["en/greeting"]

    # a deleted file is rendered again; --force renders everything asked
    (prompts_dir / "audio" / "es" / "num" / "7.wav").unlink()
    assert (await builder.build(SUBSET)).rendered == ["es/num/7"]
    assert len((await builder.build(["num/7"], ["es"], force=True)).rendered) == 1


@needs_tools
async def test_asterisk_install(prompts_dir: Path, tmp_path: Path) -> None:
    sounds = tmp_path / "asterisk-sounds"
    builder = PromptBuilder(PromptCatalogue.load(prompts_dir))
    result = await builder.build(["num/7"], asterisk_dir=sounds)
    assert result.copied == ["en/num/7", "es/num/7"]
    installed = sounds / "puente" / "es" / "num" / "7.wav"
    assert installed.read_bytes() == (prompts_dir / "audio" / "es" / "num" / "7.wav").read_bytes()
    assert wav_format(installed)[:3] == (8000, 1, 16)
    again = await builder.build(["num/7"], asterisk_dir=sounds)
    assert again.rendered == [] and again.copied == []  # nothing to do the second time
    installed.unlink()
    assert (await builder.build(["num/7"], asterisk_dir=sounds)).copied == ["es/num/7"]


async def test_missing_tools_are_named(prompts_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(ToolMissing, match="espeak-ng and sox not found"):
        find_tools()
    builder = PromptBuilder(PromptCatalogue.load(prompts_dir))
    with pytest.raises(ToolMissing, match="espeak-ng"):
        await builder.build(["num/7"])
    sox_only = tmp_path / "bin"
    sox_only.mkdir()
    (sox_only / "espeak-ng").symlink_to(shutil.which("true") or "/bin/true")
    monkeypatch.setenv("PATH", str(sox_only))
    with pytest.raises(ToolMissing, match=r"^sox not found"):
        find_tools()


async def test_unknown_ids_are_refused(prompts_dir: Path) -> None:
    with pytest.raises(RenderError, match="unknown prompt ids: nope"):
        await PromptBuilder(PromptCatalogue.load(prompts_dir)).build(["nope"])


def test_ssml_for_bilingual_text() -> None:
    assert to_ssml("Hola") is None
    assert to_ssml("[en] Press 1 & wait. [es] Pulse 2.") == (
        '<speak><voice xml:lang="en-us">Press 1 &amp; wait.</voice> <voice xml:lang="es">Pulse 2.</voice></speak>'
    )


@needs_tools
async def test_cli_build_and_list(prompts_dir: Path) -> None:
    env = {"IVR_PROMPTS_DIR": str(prompts_dir)}
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["prompts", *args], env=env)
        return result.exit_code, result.output

    code, out = await asyncio.to_thread(invoke, "build", "--only", "num/1", "--only", "num/2", "--lang", "es")
    assert code == 0, out
    assert out.strip() == "rendered 2, unchanged 0"
    code, out = await asyncio.to_thread(invoke, "build", "--only", "num/1", "--only", "num/2", "--lang", "es")
    assert out.strip() == "rendered 0, unchanged 2"
    code, out = await asyncio.to_thread(invoke, "list", "--missing")
    assert code == 0 and "es/num/1 " not in out and "en/num/1 " in out
    code, out = await asyncio.to_thread(invoke, "build", "--only", "nope")
    assert code != 0 and "unknown prompt ids: nope" in out
