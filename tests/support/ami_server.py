"""A fake Asterisk AMI server on 127.0.0.1:0 that answers from the shared real-Asterisk captures.

``load_capture`` reads the ``### <t>s RECV|SENT|BANNER|NOTE`` blocks of a capture file;
``responses_to(blocks, action)`` takes what Asterisk sent after the client's first ``action`` (up to
the next thing the client sent). The server answers each action with those blocks, rewriting the
``ActionID`` header to the one the client used, and can push events or close connections on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path

BLOCK_RE = re.compile(r"^###\s+([\d.]+)s (RECV|SENT|BANNER|NOTE)\s?(.*)$")


@dataclass(frozen=True)
class Block:
    t: float
    kind: str  # RECV (from Asterisk), SENT (to Asterisk), BANNER, NOTE
    text: str  # the message, LF line ends, no trailing blank line

    def header(self, name: str) -> str | None:
        for line in self.text.splitlines():
            key, sep, value = line.partition(": ")
            if sep and key.lower() == name.lower():
                return value
        return None


def load_capture(path: Path) -> list[Block]:
    blocks: list[Block] = []
    current: tuple[float, str, list[str]] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("### SUMMARY"):
            break
        match = BLOCK_RE.match(line)
        if match:
            if current is not None:
                blocks.append(Block(current[0], current[1], "\n".join(current[2]).strip("\n")))
            t, kind, rest = float(match.group(1)), match.group(2), match.group(3)
            current = (t, kind, [rest] if kind in ("BANNER", "NOTE") else [])
        elif current is not None and not line.startswith("# "):
            current[2].append(line)
    if current is not None:
        blocks.append(Block(current[0], current[1], "\n".join(current[2]).strip("\n")))
    return blocks


def responses_to(blocks: list[Block], action: str, *, nth: int = 0) -> list[Block]:
    """What Asterisk sent after the client's ``nth`` ``action``, up to the client's next message."""
    seen = -1
    for i, block in enumerate(blocks):
        if block.kind == "SENT" and (block.header("Action") or "").lower() == action.lower():
            seen += 1
            if seen == nth:
                out = []
                for later in blocks[i + 1:]:
                    if later.kind == "SENT":
                        break
                    if later.kind == "RECV":
                        out.append(later)
                return out
    raise LookupError(f"no {action} #{nth} in the capture")


def events(blocks: list[Block], name: str) -> list[Block]:
    return [b for b in blocks if b.kind == "RECV" and (b.header("Event") or "") == name]


def wire(text: str, action_id: str | None = None) -> bytes:
    lines = text.splitlines()
    if action_id is not None:
        lines = [f"ActionID: {action_id}" if line.lower().startswith("actionid:") else line for line in lines]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class FakeAmiServer:
    """Answers ``Login`` with ``login`` (+ ``after_login`` events) and other actions from ``answers``
    (lower-case action name -> blocks). Unknown actions get ``Response: Error``."""

    login: list[Block]
    after_login: list[Block] = field(default_factory=list)
    answers: dict[str, list[Block]] = field(default_factory=dict)
    banner: str = "Asterisk Call Manager/11.0.0"
    secret: str = "labsecret"
    received: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    logins: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    logged_in: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every client (like Asterisk going down)."""
        if self._server is not None:
            self._server.close()
        await self.close_clients()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def close_clients(self) -> None:
        for writer in list(self._writers):
            writer.close()
        for writer in list(self._writers):
            with contextlib.suppress(ConnectionError):  # the peer may have gone first
                await writer.wait_closed()
        self._writers.clear()

    async def push(self, blocks: list[Block]) -> None:
        for writer in self._writers:
            for block in blocks:
                writer.write(wire(block.text))
            await writer.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        writer.write(f"{self.banner}\r\n".encode())
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                message = {}
                for line in raw.decode().split("\r\n"):
                    key, sep, value = line.partition(": ")
                    if sep:
                        message[key.lower()] = value
                self.received.append(message)
                await self._answer(message, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()

    async def _answer(self, message: dict[str, str], writer: asyncio.StreamWriter) -> None:
        action = message.get("action", "").lower()
        action_id = message.get("actionid")
        if action == "login":
            if message.get("secret") != self.secret:
                writer.write(wire("Response: Error\nActionID: x\nMessage: Authentication failed", action_id))
            else:
                self.logins += 1
                for block in self.login:
                    writer.write(wire(block.text, action_id))
                for block in self.after_login:
                    writer.write(wire(block.text))
                self.logged_in.set()
        elif action in self.answers:
            for block in self.answers[action]:
                writer.write(wire(block.text, action_id if block.header("ActionID") else None))
        else:
            writer.write(wire("Response: Error\nActionID: x\nMessage: Invalid/unknown command", action_id))
        await writer.drain()
