"""``event_loop``: which loop ``ivr serve`` runs on."""

from __future__ import annotations

import asyncio

import pytest

from ivr import loops
from ivr.loops import EventLoopChoice, EventLoopUnavailable
from ivr.settings import Settings


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_asyncio_is_the_standard_loop() -> None:
    assert loops.loop_factory(EventLoopChoice.ASYNCIO) is None
    assert loops.run(loop_module(), EventLoopChoice.ASYNCIO).startswith("asyncio")


def test_auto_takes_uvloop_when_installed() -> None:
    pytest.importorskip("uvloop", reason="uvloop is not installed (it is a dependency on Linux)")
    assert loops.run(loop_module(), EventLoopChoice.AUTO).startswith("uvloop")


def test_auto_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loops, "uvloop_available", lambda: False)
    assert loops.run(loop_module(), EventLoopChoice.AUTO).startswith("asyncio")


def test_insisting_on_uvloop_without_it_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loops, "uvloop_available", lambda: False)
    coro = loop_module()
    with pytest.raises(EventLoopUnavailable, match="uvloop is not installed"):
        loops.run(coro, EventLoopChoice.UVLOOP)
    coro.close()


def test_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().event_loop is EventLoopChoice.AUTO
    monkeypatch.setenv("IVR_EVENT_LOOP", "asyncio")
    assert Settings().event_loop is EventLoopChoice.ASYNCIO
    monkeypatch.setenv("IVR_EVENT_LOOP", "tokio")
    with pytest.raises(ValueError, match="event_loop"):
        Settings()
