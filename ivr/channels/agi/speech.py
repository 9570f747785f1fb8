"""Speech for the AGI channel: the caller's audio reaches the recognizer over AudioSocket.

When a collect has a grammar and an engine listens for its language, the AgiChannel runs
``EXEC AudioSocket <uuid>,<advertised host:port>`` while the speech domain's
:func:`ivr.channels.audiosocket.listen.listen_via_audiosocket` plays the prompt on that socket
(barge-in), feeds the recognizer and collects keys. Without an engine, or without the prompt audio
on disk, the channel falls back to keys only (STREAM FILE + WAIT FOR DIGIT): keys always work.
"""

from __future__ import annotations

import asyncio
import logging
import wave
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.channel import InputResult, InputSpec, PromptFile
from ivr.channels.audiosocket.listen import listen_via_audiosocket
from ivr.channels.audiosocket.server import AudioSocketServer
from ivr.speech.base import SAMPLE_RATE, SAMPLE_WIDTH
from ivr.speech.factory import SpeechEngines

log = logging.getLogger("ivr.agi")


class PromptAudioMissing(Exception):
    """A prompt has no 8 kHz WAV to stream over AudioSocket."""


def read_slin(path: Path) -> bytes:
    """The frames of an 8 kHz 16-bit mono WAV (what ``ivr prompts build`` writes)."""
    try:
        with wave.open(str(path), "rb") as wav:
            if (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) != (SAMPLE_RATE, SAMPLE_WIDTH, 1):
                raise PromptAudioMissing(f"{path}: not 8 kHz 16-bit mono")
            return wav.readframes(wav.getnframes())
    except (FileNotFoundError, wave.Error) as exc:
        raise PromptAudioMissing(f"{path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class AgiSpeech:
    server: AudioSocketServer
    engines: SpeechEngines
    advertised: str  # host:port Asterisk connects to
    audio_dir: Path  # <prompts_dir>/audio

    async def prompt_pcm(self, prompts: Sequence[PromptFile]) -> bytes:
        paths = [self.audio_dir / f"{p.key}.wav" for p in prompts]
        parts = await asyncio.to_thread(lambda: [read_slin(path) for path in paths])
        return b"".join(parts)

    async def listen(
        self,
        prompts: Sequence[PromptFile],
        spec: InputSpec,
        agi_exec: Callable[[str], Awaitable[Any]],
    ) -> InputResult | None:
        """One turn over AudioSocket; None when speech cannot run here (use keys only)."""
        if spec.grammar is None:
            return None
        engine = self.engines.engine_for(spec.grammar.language)
        if engine is None:
            return None
        try:
            pcm = await self.prompt_pcm(prompts)
        except PromptAudioMissing as exc:
            log.warning("prompt audio missing for AudioSocket, keys only: %s", exc)
            return None
        return await listen_via_audiosocket(
            self.server,
            agi_exec,
            advertised=self.advertised,
            prompt_pcm=pcm,
            engine=engine,
            spec=spec,
            runner=self.engines.runner,
        )
