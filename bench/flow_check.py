"""Flow checking and the event loop: how long the loop stalls while a flow is checked.

For each document (the shipped support flow, a chain of ``--nodes`` play nodes, the 448-byte anchor
bomb of issue #14, a self-referencing alias, deep nesting), check it two ways while a ticker
coroutine sleeps 5 ms at a time on the same loop and records how late it wakes:

- ``in-loop``: ``check_text`` called on the loop (how the server used to validate; the bomb is
  refused at its first alias now, so it no longer takes seconds here either);
- ``worker``: ``FlowChecker.check`` (a worker process under the limits and the deadline), as the
  admin API, the editor and ``ivr flows check`` do now.

Figures per row: the check's wall time, and the ticker's worst and p99 lateness (the time every
call on the loop would have waited). Run: ``.venv/bin/python bench/flow_check.py [--nodes 1000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.flows.checking import FlowChecker  # noqa: E402
from ivr.flows.errors import FlowError  # noqa: E402
from ivr.flows.validate import References, check_text  # noqa: E402

BOMB = "\n".join(
    [f'a: &a [{", ".join(["lol"] * 10)}]']
    + [f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]" for p, n in zip("abcde", "bcdef", strict=True)]) + "\n"


def chain(nodes: int) -> str:
    lines = ["name: big", "default: true", "languages: [es]", "start: n0", "nodes:"]
    lines += [f"  n{i}: {{kind: play, prompts: [hello], next: n{i + 1}}}" for i in range(nodes - 1)]
    return "\n".join([*lines, f"  n{nodes - 1}: {{kind: hangup}}"]) + "\n"


async def measure(job: Callable[[], Awaitable[object]]) -> tuple[float, float, float]:
    loop = asyncio.get_running_loop()
    late: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            due = loop.time() + 0.005
            await asyncio.sleep(0.005)
            late.append(loop.time() - due)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.02)
    started = time.perf_counter()
    with contextlib.suppress(FlowError):  # refused documents are part of the benchmark
        await job()
    wall = time.perf_counter() - started
    done.set()
    await ticker
    p99 = statistics.quantiles(late, n=100)[98] if len(late) >= 2 else max(late, default=0.0)
    return wall, max(late, default=0.0), p99


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    args = parser.parse_args()
    docs = {
        "support.yaml": (ROOT / "dialplan" / "flows" / "support.yaml").read_text(encoding="utf-8"),
        f"chain of {args.nodes}": chain(args.nodes),
        "anchor bomb": BOMB,
        "self alias": "a: &a [*a, *a]\n",
        "nesting 200": "x: " + "[" * 200 + "]" * 200 + "\n",
    }
    refs = References()
    checker = FlowChecker(refs)
    await checker.check(chain(2), source="warm-up")  # start a worker once
    print(f"{'document':<16} {'how':<8} {'wall ms':>9} {'loop max ms':>12} {'loop p99 ms':>12}")
    for name, text in docs.items():
        async def in_loop(text: str = text, name: str = name) -> object:
            return check_text(text, source=name, refs=refs)

        async def worker(text: str = text, name: str = name) -> object:
            return await checker.check(text, source=name)

        for how, job in (("in-loop", in_loop), ("worker", worker)):
            wall, worst, p99 = await measure(job)
            print(f"{name:<16} {how:<8} {wall * 1000:>9.1f} {worst * 1000:>12.1f} {p99 * 1000:>12.1f}")
    await checker.aclose()


if __name__ == "__main__":
    asyncio.run(main())
