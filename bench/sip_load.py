"""Load the built-in SIP endpoint with SIPp and print what it sustains.

    .venv/bin/python bench/sip_load.py [--rates 10,20,40,80] [--concurrent 50,100,150]

The endpoint runs in this process (one asyncio loop, one core) with a handler that answers, plays a
prompt and hangs up, so every call carries paced RTP. SIPp (Debian sip-tester) runs as a separate
process bound to 127.0.0.1. Printed:
- set-up rate: for each call rate, calls attempted / successful / failed (highest rate with 0 failed)
- concurrency: for each target, the peak of simultaneous calls with prompt audio, failures,
  and RTP send-pacing lateness p50/p99 (absolute-deadline pacing, measured at the sender)
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.channel import PromptFile  # noqa: E402
from ivr.channels.sip.audio import AudioLibrary  # noqa: E402
from ivr.channels.sip.channel import SipChannel  # noqa: E402
from ivr.channels.sip.endpoint import SipEndpoint  # noqa: E402
from ivr.settings import SipSettings  # noqa: E402
from tests.sipp.sipp import run_sipp  # noqa: E402


def write_prompt(path: Path, seconds: float) -> None:
    samples = (np.sin(2 * np.pi * 440 * np.arange(int(8000 * seconds)) / 8000) * 6000).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(samples.tobytes())


def sipp_counts(screen: str) -> tuple[int, int]:
    ok = re.findall(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", screen)
    failed = re.findall(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", screen)
    return (int(ok[-1]) if ok else 0), (int(failed[-1]) if failed else -1)


class Bench:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.peak = 0
        self.prompt_seconds = 2.0
        prompts = workdir / "prompts"
        prompts.mkdir()
        write_prompt(prompts / "short.wav", 2.0)
        write_prompt(prompts / "long.wav", 8.0)
        self.endpoint = SipEndpoint(
            SipSettings(port=0, rtp_port_min=0, max_calls=1000),
            handler=self.handle,
            audio=AudioLibrary(lambda key: prompts / f"{key}.wav"),
        )
        self.prompt = PromptFile("short")

    async def handle(self, channel: SipChannel) -> None:
        await channel.answer()
        self.peak = max(self.peak, self.endpoint.active_calls())
        await channel.play([self.prompt])

    async def run(self, rates: list[float], concurrency: list[int]) -> None:
        started = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(self.endpoint.run(started))
            await started.wait()
            try:
                await self.setup_rates(rates)
                await self.concurrent(concurrency)
            finally:
                task.cancel()

    async def sipp(self, calls: int, rate: float, limit: int) -> tuple[int, int, int]:
        target = f"127.0.0.1:{self.endpoint.address[1]}"
        result = await run_sipp(
            "uac_wait_bye.xml",
            workdir=self.workdir,
            target=target,
            calls=calls,
            rate=rate,
            limit=limit,
            timeout=calls / rate + 40,
        )
        ok, failed = sipp_counts(result.stdout)
        return calls, ok, failed

    async def setup_rates(self, rates: list[float]) -> None:
        self.prompt = PromptFile("short")
        print("\n## call set-up rate (2 s prompt per call)\n")
        print("| calls/s | calls | successful | failed |")
        print("|--:|--:|--:|--:|")
        best = 0.0
        for rate in rates:
            calls, ok, failed = await self.sipp(int(rate * 5), rate, limit=int(rate * 4) + 20)
            print(f"| {rate:g} | {calls} | {ok} | {failed} |", flush=True)
            if failed == 0 and ok == calls:
                best = max(best, rate)
        print(f"\nhighest rate with zero failed calls: **{best:g} calls/s**")

    async def concurrent(self, targets: list[int]) -> None:
        self.prompt = PromptFile("long")
        print("\n## concurrent calls with prompt audio (8 s prompt per call)\n")
        print("| target | peak concurrent | successful | failed | frames sent | pacing p50 ms | pacing p99 ms |")
        print("|--:|--:|--:|--:|--:|--:|--:|")
        for target in targets:
            self.peak = 0
            self.endpoint.pacing.samples.clear()
            frames_before = self.endpoint.pacing.frames_sent
            rate = max(10.0, target / 4)  # all calls up within ~4 s, each lasts 8 s
            _calls, ok, failed = await self.sipp(target, rate, limit=target)
            pacing = self.endpoint.pacing
            print(
                f"| {target} | {self.peak} | {ok} | {failed} | {pacing.frames_sent - frames_before} | "
                f"{pacing.percentile(50) * 1000:.2f} | {pacing.percentile(99) * 1000:.2f} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="10,20,40,60")
    parser.add_argument("--concurrent", default="50,100,150")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r]
    concurrency = [int(c) for c in args.concurrent.split(",") if c]
    with tempfile.TemporaryDirectory(prefix="sip-load-") as tmp:
        asyncio.run(Bench(Path(tmp)).run(rates, concurrency))


if __name__ == "__main__":
    main()
