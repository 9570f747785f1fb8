"""FastAGI load: N concurrent emulated Asterisk sessions against Puente's server and panoramisk's.

Each session connects over loopback, sends an ``agi_*`` block shaped like the real Asterisk 22 one
and answers every command like Asterisk does (tests/support/agi_driver.py), pressing the keys of
the support flow's billing path ("2" Spanish, "1" billing; the agent answers). Media commands
(STREAM FILE, WAIT FOR DIGIT, EXEC Dial) are answered after 0.5-1.5 x ``--media-delay`` seconds,
as if the prompt played, and the N sessions start spread over ``--ramp`` seconds: all N are live
at once, without running in lock-step.

Measured at the emulated Asterisk: per command, the time from sending our reply (or the
environment) to receiving Puente's next command, i.e. the latency the AGI server (plus the flow
engine) adds to each step of a call. The server runs in its own process; its peak RSS is VmHWM.

Targets:
- ``puente-flow``: Puente's AgiServer running the real FlowEngine on dialplan/flows/support.yaml
  (queues/callbacks/deflection/recorder are in-memory fakes: no database, no ACD);
- ``puente-script``: Puente's AgiServer with a registered script replaying the same command
  sequence (protocol cost only);
- ``panoramisk``: panoramisk.fast_agi.Application with a route replaying the same sequence;
- ``ivr-serve``: the whole ``ivr serve`` (on the loop of the row: ``IVR_EVENT_LOOP``) on a fresh SQLite
  database with the real recorder, schedules and ACD; callers take the order-status path (or, after
  hours, "hear the hours"), so no agent is needed.

Loops: every target runs once per ``--loops`` entry (default: ``asyncio`` and, when installed,
``uvloop``, which ``ivr serve`` takes by default): Puente and panoramisk on the same loop compare
the FastAGI code alone. The emulated Asterisk runs on uvloop when it is installed, so its own
overhead blurs the figures less (it is the same for every target).

Figures: p50/p99/max of the per-command latency above; "CPU us/cmd" is the server process's CPU
time (all its threads, from /proc/<pid>/task/*/schedstat, in ns) during the measured load divided
by the commands: what each command costs the server, accept and close included.

Usage: python bench/agi_load.py [--sessions 100 1000] [--media-delay 3.0] [--ramp 10.0] [--loops asyncio uvloop]
       [--targets ...] [--rounds 3]   (--rounds: every configuration K times, round-robin; medians printed)
(defaults: a prompt lasts 1.5-4.5 s, calls arrive over 10 s, so with N=1000 all calls are live at
once at the peak: "peak live" in the table; arrivals of 100/s are far above a real support line)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import logging
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr import loops  # noqa: E402
from ivr.loops import EventLoopChoice  # noqa: E402
from tests.support.agi_driver import CallerModel, env_block  # noqa: E402

KEYS = "21"  # Spanish, billing: the agent answers (fake ACD)
TARGETS = ("puente-flow", "puente-script", "panoramisk", "ivr-serve")
DEFAULT_TARGETS = TARGETS
SESSION_TIMEOUT = 120.0
LOOPS = (EventLoopChoice.ASYNCIO, EventLoopChoice.UVLOOP)
DEFAULT_LOOPS = ["asyncio", "uvloop"] if loops.uvloop_available() else ["asyncio"]


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------- server side


def _fake_engine() -> Any:
    """The real FlowEngine on the shipped support flow, built once like ``ivr serve`` does; the
    ports are in-memory fakes (the ACD fake connects at once; nothing touches a database)."""
    from ivr.flows.engine import FlowEngine
    from ivr.flows.loader import FileFlowProvider
    from ivr.flows.lookup import DemoOrderLookup
    from ivr.prompts.catalogue import PromptCatalogue
    from ivr.settings import PROJECT_ROOT, Settings
    from tests.support.fakes import FakeSchedules, fake_services

    return FlowEngine(FileFlowProvider(PROJECT_ROOT / "dialplan" / "flows"), fake_services(),
                      PromptCatalogue.load(PROJECT_ROOT / "prompts"), FakeSchedules(), settings=Settings(),
                      lookup=DemoOrderLookup())


async def serve(kind: str, sequence: list[str]) -> None:
    raise_fd_limit()
    logging.basicConfig(level=logging.ERROR)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if kind == "panoramisk":
        from panoramisk.fast_agi import Application

        async def replay(request: Any) -> None:
            for command in sequence:
                await request.send_command(command)

        app = Application()
        app.add_route("support", replay)
        server = await asyncio.start_server(app.handler, "127.0.0.1", 0, backlog=4096)
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await stop.wait()
        server.close()
        return
    from ivr.channels.agi.channel import AgiChannel
    from ivr.channels.agi.server import AgiServer
    from ivr.settings import AgiSettings

    async def script(channel: AgiChannel) -> None:
        for command in sequence:
            await channel.connection.command(command)

    engine = _fake_engine() if kind == "puente-flow" else None
    scripts = {"support": script} if kind == "puente-script" else {}
    agi = AgiServer(AgiSettings(port=0, shutdown_grace=1), engine=engine, scripts=scripts)
    started = asyncio.Event()
    component = asyncio.create_task(agi.run(started))  # the Component entry, as ivr serve runs it
    await started.wait()
    gc.freeze()  # as `ivr serve` does once every component is up
    print(f"PORT {agi.port}", flush=True)
    await stop.wait()
    component.cancel()
    await asyncio.wait({component})
    print(json.dumps({"errors": dict(agi.stats.errors), "completed": agi.stats.calls_completed}), flush=True)


# --------------------------------------------------------------------------- Asterisk side


@dataclass
class Session:
    call_id: str = ""
    commands: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    closed_by_server: bool = False
    error: str | None = None


class MenuCaller(CallerModel):
    """Presses what each prompt asks for, so the path does not depend on the time of day (the
    real schedule may be closed): Spanish, order status 123456, end; after hours: hear the hours."""

    ANSWERS: ClassVar[dict[str, str]] = {
        "language_choice": "2", "main_menu": "3", "order/enter_number": "123456", "order/menu": "9",
        "after_hours/menu": "0",
    }
    MAX_COMMANDS = 80  # a flow that loops is cut off (and counted as an error)

    def __init__(self, *, media_delay: Callable[[], float]) -> None:
        super().__init__(media_delay=media_delay)
        self.commands = 0

    async def __call__(self, command: str) -> Sequence[str]:
        self.commands += 1
        if self.commands > self.MAX_COMMANDS and not self.dead:
            self.dead = True
            return ["200 result=-1", "HANGUP"]
        return await super().__call__(command)

    async def _stream(self, command: str) -> Sequence[str]:
        prompt = command.split(" ")[2].split("/", 2)[-1]  # puente/es/main_menu -> main_menu
        if prompt in self.ANSWERS and not self.keys:
            self.keys.extend(self.ANSWERS[prompt])
        return await super()._stream(command)


_CALL_IDS = itertools.count(1)


@dataclass
class Live:
    now: int = 0
    peak: int = 0

    def enter(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        self.now -= 1


LIVE = Live()


async def emulate(port: int, media_delay: float, start_after: float = 0.0, seed: int = 0,
                  keys: str | None = KEYS) -> Session:
    """One call; ``keys=None``: a :class:`MenuCaller` (for the real server)."""
    session = Session()
    rng = random.Random(seed)

    def delay() -> float:  # each prompt / wait lasts 0.5x..1.5x the mean: no lock-step
        return media_delay * rng.uniform(0.5, 1.5)

    model: CallerModel = MenuCaller(media_delay=delay) if keys is None else CallerModel(keys, media_delay=delay)
    call = next(_CALL_IDS)
    session.call_id = f"{1795424844 + call}.{call}"
    await asyncio.sleep(start_after)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        session.error = f"connect: {exc}"
        return session
    LIVE.enter()
    try:
        writer.write(env_block(script="support", dnid="900100200", callerid=f"+346{call:08d}",
                               uniqueid=session.call_id, channel=f"PJSIP/sipp-{call:08x}"))
        sent = time.perf_counter()
        async with asyncio.timeout(SESSION_TIMEOUT):
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError:
                    session.closed_by_server = True
                    break
                session.latencies.append(time.perf_counter() - sent)
                command = line.decode().rstrip("\n")
                session.commands.append(command)
                replies = await model(command)
                writer.write("".join(f"{r}\n" for r in replies).encode())
                sent = time.perf_counter()
    except (OSError, TimeoutError) as exc:
        session.error = f"{type(exc).__name__}: {exc}"
    finally:
        LIVE.leave()
        writer.close()
    return session


def start_ivr_serve(loop: str) -> tuple[subprocess.Popen[str], int]:
    """The real thing: ``ivr serve`` on a fresh SQLite database (SIP, AudioSocket, speech off)."""
    var = Path(tempfile.mkdtemp(prefix="agi-load-"))
    env = dict(os.environ, IVR_VAR_DIR=str(var), IVR_HTTP__PORT="0", IVR_AGI__PORT="0", IVR_SIP__ENABLED="false",
               IVR_AUDIOSOCKET__ENABLED="false", IVR_SPEECH__ENABLED="false", IVR_CONFIG="", IVR_EVENT_LOOP=loop,
               IVR_ORDER_LOOKUP_DEMO="true")  # the order-status path answers from the demo table
    ivr = str(Path(sys.executable).with_name("ivr"))
    subprocess.run([ivr, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    log_path = var / "serve.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([ivr, "serve"], env=env, cwd=ROOT, stdout=log_file, stderr=log_file, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            if '"FastAGI listening"' in line:
                return proc, int(json.loads(line)["port"])
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"ivr serve did not start; see {log_path}")


SERVER_CPUS: set[int] | None = None  # --pin: the server's own core(s), away from the emulated Asterisk


def pin_cpus() -> None:
    """The emulated Asterisk on the first core, every server on the others: neither steals the
    other's core or cache, so the figures move less from run to run."""
    global SERVER_CPUS
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[0]})
        SERVER_CPUS = set(cpus[1:])


def start_server(kind: str, sequence: list[str], loop: str = "asyncio") -> tuple[subprocess.Popen[str], int]:
    proc, port = _spawn_server(kind, sequence, loop)
    if SERVER_CPUS:
        os.sched_setaffinity(proc.pid, SERVER_CPUS)  # threads it starts later inherit it
    return proc, port


def _spawn_server(kind: str, sequence: list[str], loop: str) -> tuple[subprocess.Popen[str], int]:
    if kind == "ivr-serve":
        return start_ivr_serve(loop)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--loop", loop, "--sequence", json.dumps(sequence)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"{kind} server did not start: {line!r}")
    return proc, int(line.split()[1])


def same_path(session: Session, reference: list[str]) -> bool:
    """The call went the reference's way (call ids and Dial's answer-hook tokens aside: every call
    has its own)."""
    if len(session.commands) != len(reference):
        return False
    ids = re.compile(r"\b\d{10}\.\d+\b|(?<=\^)[0-9a-f]{24}(?=\))")
    return all(ids.sub("<id>", a) == ids.sub("<id>", b) for a, b in zip(session.commands, reference, strict=True))


def stop_server(proc: subprocess.Popen[str]) -> str:
    """SIGTERM (graceful shutdown), then kill this one process if it does not stop in time."""
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of ``pid`` so far (schedstat: nanoseconds, unlike the 10 ms ticks of stat)."""
    return sum(int((task / "schedstat").read_text().split()[0]) for task in Path(f"/proc/{pid}/task").iterdir()) / 1e9


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Row:
    target: str
    loop: str
    sessions: int
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    rss_mb: float
    commands: int
    peak_live: int
    cpu_us: float


def print_per_command(kind: str, sessions: list[Session]) -> None:
    """Latency by position in the call (0 = the first command, after the environment block)."""
    for i in range(max((len(s.latencies) for s in sessions), default=0)):
        xs = sorted(s.latencies[i] for s in sessions if len(s.latencies) > i)
        command = next((s.commands[i] for s in sessions if len(s.commands) > i), "")
        print(f"{kind:<14} #{i:<3} p50 {xs[len(xs) // 2] * 1000:7.2f}  p99 {xs[int(len(xs) * 0.99)] * 1000:7.2f}  "
              f"max {xs[-1] * 1000:7.1f} ms  {command[:40]}")


async def run_load(kind: str, loop: str, n: int, *, media_delay: float, ramp: float, sequence: list[str],
                   per_command: bool = False) -> Row:
    proc, port = start_server(kind, sequence, loop)
    keys = None if kind == "ivr-serve" else KEYS
    try:
        # a long-running server is warm: the first call's lazy imports are not what we measure
        for _ in range(3):
            await emulate(port, 0.0, keys=keys)
        LIVE.peak = 0
        started, cpu_before = time.perf_counter(), cpu_seconds(proc.pid)
        sessions = await asyncio.gather(*(emulate(port, media_delay, ramp * i / n, seed=i, keys=keys)
                                          for i in range(n)))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(proc.pid) - cpu_before
        rss = peak_rss_mb(proc.pid)
    finally:
        out = stop_server(proc)
    errors = sum(1 for s in sessions if s.error or not s.closed_by_server or not same_path(s, sequence))
    server_report = out.strip().splitlines()[-1] if out.strip() else ""
    if server_report.startswith("{") and json.loads(server_report)["errors"]:
        errors += sum(json.loads(server_report)["errors"].values())
    latencies = sorted(x for s in sessions for x in s.latencies)
    if per_command:
        print_per_command(f"{kind}/{loop}", sessions)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    return Row(kind, loop, n, n / elapsed, statistics.median(latencies) * 1000 if latencies else float("nan"),
               p99 * 1000, (latencies[-1] if latencies else float("nan")) * 1000, errors, rss, len(latencies),
               LIVE.peak, cpu * 1e6 / len(latencies) if latencies else float("nan"))


async def reference_sequence(kind: str = "puente-flow") -> list[str]:
    """The commands Puente's flow sends for the path (what the replays must send too)."""
    proc, port = start_server(kind, [])
    try:
        session = await emulate(port, 0.0, keys=None if kind == "ivr-serve" else KEYS)
    finally:
        stop_server(proc)
    if session.error or not session.closed_by_server:
        raise RuntimeError(f"reference session failed: {session.error}")
    return session.commands


def median_row(rounds: list[Row]) -> Row:
    """Each figure's median over the rounds of one configuration (errors: the sum)."""
    def mid(values: list[float]) -> float:
        return statistics.median(values)

    first = rounds[0]
    return Row(first.target, first.loop, first.sessions, mid([r.per_second for r in rounds]),
               mid([r.p50_ms for r in rounds]), mid([r.p99_ms for r in rounds]), mid([r.max_ms for r in rounds]),
               sum(r.errors for r in rounds), mid([r.rss_mb for r in rounds]), sum(r.commands for r in rounds),
               max(r.peak_live for r in rounds), mid([r.cpu_us for r in rounds]))


async def main(sizes: list[int], *, media_delay: float, ramp: float, targets: list[str], server_loops: list[str],
               rounds: int = 1, per_command: bool = False) -> None:
    raise_fd_limit()
    sequence = await reference_sequence()
    print(f"support flow, billing path: {len(sequence)} AGI commands per call; each media command lasts "
          f"{media_delay * 500:.0f}-{media_delay * 1500:.0f} ms; sessions start within {ramp:.1f} s; "
          f"{os.cpu_count()} CPUs")
    serve_sequence = await reference_sequence("ivr-serve") if "ivr-serve" in targets else []
    if serve_sequence:
        print(f"ivr-serve: the real server (SQLite, schedules, recorder): {len(serve_sequence)} commands per call")
    where = f" (CPU {sorted(os.sched_getaffinity(0))}; servers on CPU {sorted(SERVER_CPUS)})" if SERVER_CPUS else ""
    print(f"emulated Asterisk on {type(asyncio.get_running_loop()).__module__}{where}; servers on "
          f"{', '.join(server_loops)}")
    configs = [(n, loop, kind) for n in sizes for loop in server_loops for kind in targets]
    runs: dict[tuple[int, str, str], list[Row]] = {config: [] for config in configs}
    for _ in range(rounds):  # round-robin, so a noisy minute on the machine hits every target alike
        for n, loop, kind in configs:
            runs[(n, loop, kind)].append(await run_load(
                kind, loop, n, media_delay=media_delay, ramp=ramp, per_command=per_command,
                sequence=serve_sequence if kind == "ivr-serve" else sequence))
    rows = [median_row(runs[config]) for config in configs]
    if rounds > 1:
        print(f"median of {rounds} rounds per row (errors and commands: summed over the rounds)")
    header = f"{'target':<14} {'loop':<8} {'N':>5} {'sessions/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} " \
             f"{'CPU us/cmd':>10} {'errors':>6} {'peak RSS MB':>11} {'commands':>8} {'peak live':>9}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r.target:<14} {r.loop:<8} {r.sessions:>5} {r.per_second:>10.1f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
              f"{r.max_ms:>8.1f} {r.cpu_us:>10.1f} {r.errors:>6} {r.rss_mb:>11.1f} {r.commands:>8} {r.peak_live:>9}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--media-delay", type=float, default=3.0, help="mean seconds per media command")
    parser.add_argument("--ramp", type=float, default=10.0, help="sessions start spread over this many seconds")
    parser.add_argument("--targets", nargs="+", default=list(DEFAULT_TARGETS), choices=TARGETS)
    parser.add_argument("--per-command", action="store_true", help="also print latency by command position")
    parser.add_argument("--pin", action=argparse.BooleanOptionalAction, default=True,
                        help="emulated Asterisk on the first CPU, servers on the others (default: on)")
    parser.add_argument("--rounds", type=int, default=1, help="run every configuration this many times; print medians")
    parser.add_argument("--loops", nargs="+", default=DEFAULT_LOOPS, choices=[c.value for c in LOOPS],
                        help="event loops the servers run on (each target once per loop)")
    parser.add_argument("--serve", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--loop", default="asyncio", help=argparse.SUPPRESS)
    parser.add_argument("--sequence", default="[]", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pin and not args.serve:
        pin_cpus()
    if args.serve:
        loops.run(serve(args.serve, json.loads(args.sequence)), EventLoopChoice(args.loop))
    else:
        # the emulated Asterisk: the fastest loop at hand (the same for every target)
        loops.run(main(args.sessions, media_delay=args.media_delay, ramp=args.ramp, targets=args.targets,
                       server_loops=args.loops, rounds=args.rounds, per_command=args.per_command),
                  EventLoopChoice.AUTO)
