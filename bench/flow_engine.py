"""Flow engine cost: calls through the shipped support flow on scripted callers, all ports faked.

Measures the interpreter alone (no telephony, no database): calls per second and CPU time per call
and per node for a mix of paths (billing by key, support by speech, order status, after-hours link,
invalid input twice), run concurrently in one event loop.

Each path starts from the same state (a full garbage collection first: otherwise the last path pays
for the garbage of the earlier ones, which made its figure swing by a third between runs), and the
paths take turns over ``--rounds`` rounds; the table gives each path's median and best round.

Usage: python bench/flow_engine.py [--calls 2000] [--concurrency 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.flows.engine import FlowEngine  # noqa: E402
from ivr.flows.loader import FileFlowProvider  # noqa: E402
from ivr.flows.lookup import DemoOrderLookup  # noqa: E402
from ivr.ports import Disposition  # noqa: E402
from ivr.prompts.catalogue import PromptCatalogue  # noqa: E402
from ivr.schedules.model import ScheduleState  # noqa: E402
from ivr.settings import Settings  # noqa: E402
from tests.support.fakes import FakeRecorder, FakeSchedules, fake_services  # noqa: E402
from tests.support.scripted import Action, AgentAnswers, Press, Say, ScriptedChannel, scripted_info  # noqa: E402

PATHS: dict[str, tuple[list[Action], bool]] = {  # name -> (script, closed?)
    "billing_key": ([Press("2"), Press("1"), AgentAnswers()], False),
    "support_speech": ([Press("1"), Say("technical support"), AgentAnswers()], False),
    "order_status": ([Press("2"), Press("3"), Press("123456"), Press("9")], False),
    "invalid_twice": ([Press("2"), Press("7"), Press("8"), AgentAnswers()], False),
    "after_hours_link": ([Press("2"), Press("1"), Press("1"), Press("1")], True),
}


async def run_path(name: str, calls: int, concurrency: int, catalogue: PromptCatalogue) -> tuple[float, float, int]:
    script, closed = PATHS[name]
    services = fake_services()
    schedules = FakeSchedules(states={"support": ScheduleState.CLOSED} if closed else {})
    engine = FlowEngine(FileFlowProvider(ROOT / "dialplan" / "flows"), services, catalogue, schedules,
                        settings=Settings(), lookup=DemoOrderLookup())
    gate = asyncio.Semaphore(concurrency)
    results: list[Disposition] = []

    async def one(i: int) -> None:
        async with gate:
            channel = ScriptedChannel(list(script), call_info=scripted_info(call_id=f"{name}-{i}"))
            results.append(await engine.run(channel))

    wall, cpu = time.perf_counter(), time.process_time()
    async with asyncio.TaskGroup() as tg:
        for i in range(calls):
            tg.create_task(one(i))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    recorder = services.recorder
    assert isinstance(recorder, FakeRecorder)
    nodes = len(recorder.nodes())
    if len(set(results)) != 1:
        raise SystemExit(f"{name}: mixed outcomes {set(results)}")
    return wall, cpu, nodes


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    catalogue = PromptCatalogue.load(ROOT / "prompts")
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in PATHS}
    for _ in range(args.rounds):
        for name in PATHS:
            gc.collect()
            runs[name].append(await run_path(name, args.calls, args.concurrency, catalogue))
    print(f"{'path':<18} {'calls':>6} {'calls/s':>9} {'cpu ms/call':>12} {'best ms/call':>13} {'nodes/call':>11} "
          f"{'cpu us/node':>12}")
    for name, rounds in runs.items():
        cpu = statistics.median(r[1] for r in rounds)
        wall = statistics.median(r[0] for r in rounds)
        nodes = rounds[0][2]
        print(f"{name:<18} {args.calls:>6} {args.calls / wall:>9.0f} {cpu / args.calls * 1000:>12.3f} "
              f"{min(r[1] for r in rounds) / args.calls * 1000:>13.3f} {nodes / args.calls:>11.1f} "
              f"{cpu / nodes * 1e6:>12.1f}")


if __name__ == "__main__":
    asyncio.run(main())
