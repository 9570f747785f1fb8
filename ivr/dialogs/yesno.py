"""Asking the caller a yes/no question by key (1 yes, 2 no) or speech ("sí", "yes"...).

Shared by the engine (confirming a low-confidence speech choice) and the offers (consent to a
link, confirming a callback), which also run inside the ACD hold loop.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from ivr.channel import Channel, Grammar, InputMode, InputResult, InputSpec, PromptFile
from ivr.context import CallContext, InputRecord
from ivr.ports import CallEventKind, CallRecorder
from ivr.prompts.catalogue import PromptCatalogue

log = logging.getLogger(__name__)

YES_KEY = "1"
NO_KEY = "2"
YES_WORDS: dict[str, tuple[str, ...]] = {
    "es": ("sí", "si", "vale", "de acuerdo", "claro", "por favor"),
    "en": ("yes", "yeah", "yep", "okay", "sure", "please"),
}
NO_WORDS: dict[str, tuple[str, ...]] = {
    "es": ("no", "no gracias", "ahora no"),
    "en": ("no", "nope", "no thanks", "not now"),
}


class Answer(enum.StrEnum):
    YES = "yes"
    NO = "no"
    NONE = "none"  # no usable answer after the tries


def yes_no_grammar(lang: str) -> Grammar:
    phrases = {w: YES_KEY for w in YES_WORDS.get(lang, YES_WORDS["en"])}
    phrases.update({w: NO_KEY for w in NO_WORDS.get(lang, NO_WORDS["en"])})
    return Grammar(language=lang, phrases=phrases)


def prompt_files(prompts: PromptCatalogue, prompt_ids: Sequence[str], lang: str) -> list[PromptFile]:
    out = []
    for prompt_id in prompt_ids:
        if prompts.has(prompt_id, lang):
            out.append(prompts.file(prompt_id, lang))
        else:
            log.error("prompt missing at run time", extra={"prompt": prompt_id, "lang": lang})
    return out


async def record_event(
    recorder: CallRecorder, call_id: str, kind: CallEventKind, *, node: str | None, data: dict[str, object]
) -> None:
    """Record a timeline event; a failing recorder never ends the call."""
    try:
        await recorder.event(call_id, kind, node=node, data=dict(data))
    except Exception:
        log.exception("cannot record a call event", extra={"event": kind.value})


async def record_input(recorder: CallRecorder, ctx: CallContext, node: str, result: InputResult) -> None:
    ctx.inputs.append(
        InputRecord(
            node=node,
            mode=result.mode,
            digits=result.digits,
            transcript=result.transcript,
            confidence=result.confidence,
            engine=result.engine,
            at=datetime.now(UTC),
        )
    )
    await record_event(
        recorder,
        ctx.info.call_id,
        CallEventKind.INPUT,
        node=node,
        data={
            "mode": result.mode.value,
            "digits": result.digits,
            "transcript": result.transcript,
            "key": result.key,
            "confidence": result.confidence,
            "engine": result.engine,
        },
    )


async def ask_yes_no(
    channel: Channel,
    ctx: CallContext,
    prompts: PromptCatalogue,
    recorder: CallRecorder,
    *,
    node: str,
    prompt_ids: Sequence[str],
    tries: int = 2,
    timeout: float = 5.0,
    min_confidence: float = 0.5,
) -> tuple[Answer, InputResult | None]:
    """Ask; return the answer and the input that gave it (for consent records)."""
    grammar = yes_no_grammar(ctx.language)
    last: InputResult | None = None
    for _ in range(tries):
        files = prompt_files(prompts, prompt_ids, ctx.language)
        result = await channel.collect(files, InputSpec(max_digits=1, first_timeout=timeout, grammar=grammar))
        for f in files:
            await record_event(recorder, ctx.info.call_id, CallEventKind.PROMPT_PLAYED, node=node,
                               data={"prompt": f.key})
        if result.mode is InputMode.NONE:
            await record_event(recorder, ctx.info.call_id, CallEventKind.NO_INPUT, node=node, data={})
            continue
        await record_input(recorder, ctx, node, result)
        last = result
        key = result.digits[:1] if result.mode is InputMode.DTMF else result.key
        confident = result.mode is InputMode.DTMF or (result.confidence or 0.0) >= min_confidence
        if key == YES_KEY and confident:
            return Answer.YES, result
        if key == NO_KEY and confident:
            return Answer.NO, result
        await record_event(recorder, ctx.info.call_id, CallEventKind.NO_MATCH, node=node, data={})
    return Answer.NONE, last
