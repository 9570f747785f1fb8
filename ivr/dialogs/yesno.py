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
from ivr.events.flow import PromptPlayed
from ivr.events.types import Event, InputReceived, NoInput, NoMatch
from ivr.ports import CallEvents
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
        found = prompts.find(prompt_id, lang)
        if found is not None:
            out.append(found)
        else:
            log.error("prompt missing at run time", extra={"prompt": prompt_id, "lang": lang})
    return out


def publish(events: CallEvents, event: Event) -> None:
    """Publish a fact of the call; a failing publisher never ends the call (logged)."""
    try:
        events.publish(event)
    except Exception:
        log.exception("cannot publish a call event", extra={"event": event.kind})


def played(events: CallEvents, call_id: str, files: Sequence[PromptFile], *, node: str | None) -> None:
    for f in files:
        publish(events, PromptPlayed(call_id=call_id, node=node, prompt=f.key))


def record_input(events: CallEvents, ctx: CallContext, node: str, result: InputResult) -> None:
    """Keep the input in the call's context (the agent's screen pop) and publish it."""
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
    publish(events, InputReceived(call_id=ctx.info.call_id, node=node, mode=result.mode.value, digits=result.digits,
                                  transcript=result.transcript, key=result.key, confidence=result.confidence,
                                  engine=result.engine))


async def ask_yes_no(
    channel: Channel,
    ctx: CallContext,
    prompts: PromptCatalogue,
    events: CallEvents,
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
        played(events, ctx.info.call_id, files, node=node)
        if result.mode is InputMode.NONE:
            publish(events, NoInput(call_id=ctx.info.call_id, node=node))
            continue
        record_input(events, ctx, node, result)
        last = result
        key = result.digits[:1] if result.mode is InputMode.DTMF else result.key
        confident = result.mode is InputMode.DTMF or (result.confidence or 0.0) >= min_confidence
        if key == YES_KEY and confident:
            return Answer.YES, result
        if key == NO_KEY and confident:
            return Answer.NO, result
        publish(events, NoMatch(call_id=ctx.info.call_id, node=node))
    return Answer.NONE, last
