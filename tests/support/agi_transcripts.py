"""The captured FastAGI sessions (``tests/captures/asterisk/**/agi-*.txt``) as data, and a responder
that replays one of them reply for reply against Puente's server."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.agi_driver import R_UNKNOWN

# ---------------------------------------------------------------------------------
_LINE_RE = re.compile(r"^\S+ \[conn (\d+)\] (<<|>>) ?(.*)$")


@dataclass
class Exchange:
    command: str
    replies: list[str] = field(default_factory=list)  # lines Asterisk sent after it (HANGUP too)


@dataclass
class Transcript:
    env: list[str]
    exchanges: list[Exchange]

    def env_bytes(self) -> bytes:
        return ("\n".join(self.env) + "\n\n").encode()


def load_transcript(path: Path, conn: int = 1, occurrence: int = 0) -> Transcript:
    """Parse one connection of a captured ``agi-*.txt`` (``<<`` from Asterisk, ``>>`` to it).

    ``occurrence`` picks among several connections with the same number in one file.
    """
    sessions: list[Transcript] = []
    current: Transcript | None = None
    in_env = False
    for raw in path.read_text().splitlines():
        if f"[conn {conn}] --- connection from" in raw:
            current = Transcript(env=[], exchanges=[])
            sessions.append(current)
            in_env = True
            continue
        match = _LINE_RE.match(raw)
        if not match or int(match.group(1)) != conn or current is None:
            continue
        direction, text = match.group(2), match.group(3)
        if direction == "<<" and in_env:
            if text == "":
                in_env = False
            else:
                current.env.append(raw.split("<< ", 1)[1])  # keep "agi_accountcode: " as is
        elif direction == ">>":
            current.exchanges.append(Exchange(command=text))
        elif current.exchanges:
            current.exchanges[-1].replies.append(text)
    return sessions[occurrence]



class TranscriptResponder:
    """Replays one captured connection: each command must be the captured one, in order."""

    def __init__(self, transcript: Transcript) -> None:
        self._exchanges = deque(transcript.exchanges)
        self.mismatches: list[tuple[str, str]] = []

    async def __call__(self, command: str) -> Sequence[str]:
        if not self._exchanges:
            self.mismatches.append(("<end of transcript>", command))
            return [R_UNKNOWN]
        exchange = self._exchanges.popleft()
        if exchange.command != command:
            self.mismatches.append((exchange.command, command))
        return exchange.replies


