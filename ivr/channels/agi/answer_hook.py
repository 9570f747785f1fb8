"""The agent leg's answer, seen through Dial's answer hook.

``EXEC Dial PJSIP/1001,20,gU(puente-agent-answered^<token>)`` makes Asterisk run a Gosub on the
*agent's* channel 1-2 ms after the agent answers and before the bridge (captured:
``tests/captures/asterisk/round3/dial-answer-hook-*.txt``). The shipped context runs
``AGI(agi://.../agent-answered,<token>)``: that FastAGI connection tells Puente "answered now", and
Puente closes it at once without a command, because the bridge waits until the script ends.

The caller's own AGI gets no line meanwhile (its ``EXEC Dial`` returns only when the bridge ends),
so this is the only way to know the answer without AMI. Ring time = Dial start -> hook; talk time =
hook -> Dial return (``ANSWEREDTIME``/``DIALEDTIME`` count from the caller's channel, IVR included).

A token is unguessable and used once: a stray or late connection with an unknown token is logged
and closed, never taken as an answer.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

log = logging.getLogger("ivr.agi")

ANSWER_HOOK_SCRIPT = "agent-answered"

AnswerCallback = Callable[[], None]


class AnswerWatch:
    """One Dial's wait for its agent's answer."""

    def __init__(self, hooks: AnswerHooks, token: str, on_answer: AnswerCallback | None) -> None:
        self._hooks = hooks
        self.token = token
        self._on_answer = on_answer
        self.answered_at: float | None = None  # loop time of the answer
        self.agent_channel: str | None = None  # the agent's channel name (the hook runs on it)
        self.answered = asyncio.Event()

    def fire(self, at: float, agent_channel: str | None = None) -> None:
        if self.answered_at is not None:
            return
        self.answered_at = at
        self.agent_channel = agent_channel
        self.answered.set()
        if self._on_answer is not None:
            try:
                self._on_answer()
            except Exception:
                # The bookkeeping of an answer must not cost the call its bridge.
                log.exception("answer callback failed", extra={"token": self.token})

    def close(self) -> None:
        self._hooks.forget(self.token)

    def __enter__(self) -> AnswerWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AnswerHooks:
    """Tokens of the Dials in progress, shared by the AGI server and its channels (one per server)."""

    def __init__(self) -> None:
        self._watches: dict[str, AnswerWatch] = {}
        self.unknown = 0  # hook connections whose token nobody waited for

    def expect(self, on_answer: AnswerCallback | None = None) -> AnswerWatch:
        token = secrets.token_hex(12)
        watch = AnswerWatch(self, token, on_answer)
        self._watches[token] = watch
        return watch

    def forget(self, token: str) -> None:
        self._watches.pop(token, None)

    def fire(self, token: str, at: float, agent_channel: str | None = None) -> bool:
        """The hook ran for ``token`` (at loop time ``at``, on ``agent_channel``); False when nobody
        waits for it."""
        watch = self._watches.get(token)
        if watch is None:
            self.unknown += 1
            log.warning("agent answer hook for an unknown or finished dial", extra={"token": token[:24]})
            return False
        watch.fire(at, agent_channel)
        return True

    @property
    def pending(self) -> int:
        return len(self._watches)


def dial_options(context: str, watch: AnswerWatch | None) -> str:
    """Dial's options: ``g`` (the caller stays when the agent hangs up), plus the answer hook."""
    if watch is None or not context:
        return "g"
    return f"gU({context}^{watch.token})"
