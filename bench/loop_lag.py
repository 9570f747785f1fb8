"""Live SIP calls with RTP against a real ``ivr serve``, first alone, then beside a hostile mix.

    .venv/bin/python bench/loop_lag.py [--calls 20] [--seconds 20]

Starts ``ivr serve`` on free loopback ports with SQLite in a temporary directory (a ``hold`` flow on
number 7000 puts each caller in the ``general`` queue, whose only agent is set busy: the callers
hear hold music and announcements, i.e. a steady 50 packets/s of RTP each). This script is the
callers (bench/sip_caller.py): a minimal SIP UAC whose INVITEs point the media at UDP sockets it owns. Then, for each
phase (``--seconds`` each), it measures:

- SIP RTT: an OPTIONS sent every 50 ms, from send to the 200 (kernel receive timestamp);
- RTP jitter: for consecutive packets of a call (sequence +1, timestamp +160), how far the gap
  between their arrivals (kernel receive timestamps) is from 20 ms;
- loop lag: the p99 of ``puente_event_loop_lag_seconds`` over the phase (from /metrics, bucket
  interpolation as Prometheus's histogram_quantile does).

Phases: ``baseline`` (the calls alone), then ``hostile`` with, at the same time and from another
process: a login storm (parallel POST /api/v1/auth/login, wrong and right passwords), YAML anchor
bombs and large flows POSTed to /api/v1/flows/validate as admin, and a REGISTER storm. Errors
(401, 403, 422, timeouts) are counted, not fatal: this measures the server's responsiveness.
Goal: with the hostile mix, RTP jitter p99 < 5 ms and SIP RTT p99 < 20 ms.
Everything runs on 127.0.0.1, bounded in time, and every process it starts is ended.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sip_caller import Caller, Phase  # noqa: E402 - after the path line

IVR = str(Path(sys.executable).parent / "ivr")
ADMIN, PASSWORD = "bench-admin", "bench-password-1"
HOLD_NUMBER = "7000"
GOAL_JITTER_MS, GOAL_RTT_MS = 5.0, 20.0

HOLD_FLOW = {
    "name": "hold",
    "description": "bench/loop_lag.py: every caller waits in the general queue",
    "numbers": [HOLD_NUMBER],
    "languages": ["es", "en"],
    "start": "wait",
    "nodes": {
        "wait": {"kind": "queue", "queue": "general", "overflow": "bye"},
        "bye": {"kind": "hangup", "prompts": ["goodbye"]},
    },
}


# --------------------------------------------------------------------------- the server

@dataclass
class Server:
    env: dict[str, str]
    sip_port: int
    http_port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def ivr(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([IVR, *args], env=self.env, cwd=ROOT, input=stdin, capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise SystemExit(f"ivr {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(tmp: Path, event_loop: str) -> Server:
    dialplan = tmp / "dialplan"
    shutil.copytree(ROOT / "dialplan", dialplan, ignore=shutil.ignore_patterns("asterisk"))
    (dialplan / "flows" / "hold.yaml").write_text(yaml.safe_dump(HOLD_FLOW), encoding="utf-8")
    sip_port, http_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    env = {
        **os.environ,
        "IVR_VAR_DIR": str(tmp / "var"),
        "IVR_DATABASE_URL": f"sqlite:///{tmp / 'puente.db'}",
        "IVR_FLOWS_DIR": str(dialplan / "flows"),
        "IVR_SIP__PORT": str(sip_port),
        "IVR_SIP__RTP_PORT_MIN": "0",
        "IVR_HTTP__PORT": str(http_port),
        "IVR_HTTP__PUBLIC_BASE_URL": f"http://127.0.0.1:{http_port}",
        "IVR_AGI__PORT": str(free_port(socket.SOCK_STREAM)),
        "IVR_AUDIOSOCKET__PORT": str(free_port(socket.SOCK_STREAM)),
        "IVR_AMI__ENABLED": "false",
        "IVR_CALLBACKS__DISPATCH": "false",
        "IVR_LOG_JSON": "true",
        "IVR_LOG_LEVEL": "WARNING",
        "IVR_EVENT_LOOP": event_loop,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("IVR_CONFIG", None)
    (tmp / "var").mkdir()
    server = Server(env, sip_port, http_port, tmp / "serve.log")
    server.ivr("db", "upgrade")
    server.ivr("users", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    return server


@contextlib.contextmanager
def serving(server: Server, niceness: int = 0) -> Iterator[Server]:
    with server.log_path.open("wb") as log:
        command = ["nice", "-n", str(niceness), IVR, "serve"] if niceness else [IVR, "serve"]  # nice execs: same pid
        server.process = subprocess.Popen(command, env=server.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(server)
            server.ivr("agents", "set-state", "agent1", "busy")  # staffed, never free: callers hold
            wait_agent_busy(server)
            yield server
        finally:
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(20)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def wait_agent_busy(server: Server) -> None:
    """The server applies the CLI's state change at its next poll; a caller before it finds nobody staffed."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        listed = json.loads(server.ivr("agents", "list", "--json"))
        if any(a["id"] == "agent1" and a["state"] == "busy" for a in listed):
            return
        time.sleep(0.2)
    raise SystemExit("the server did not set agent1 busy within 30 s")


def wait_healthy(server: Server) -> None:
    end = time.monotonic() + 60
    assert server.process is not None
    while time.monotonic() < end:
        if server.process.poll() is not None:
            raise SystemExit(f"ivr serve exited with {server.process.returncode}; see {server.log_path}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit("ivr serve did not answer /health within 60 s")


# --------------------------------------------------------------------------- the loop-lag histogram

def lag_buckets(url: str) -> dict[float, float] | None:
    """The histogram's cumulative buckets now; None if /metrics does not answer within a minute (a
    server held by the hostile mix answers late, and the late callbacks are in the histogram by then)."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=60).text
    except httpx.HTTPError:
        return None
    for family in text_string_to_metric_families(text):
        if family.name == "puente_event_loop_lag_seconds":
            return {float(s.labels["le"]): s.value for s in family.samples if s.name.endswith("_bucket")}
    return {}


def histogram_quantile(q: float, before: dict[float, float] | None, after: dict[float, float] | None) -> float | None:
    """Prometheus's interpolation over the buckets' increase during the phase."""
    if before is None or after is None:
        return None
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if bound == float("inf"):
                return bound  # beyond the last finite bucket (5 s): shown as "> 5000"
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return bounds[-2] if len(bounds) > 1 else None


# --------------------------------------------------------------------------- the hostile mix (another process)

def anchor_bomb(levels: int = 7, width: int = 9) -> str:
    """A "billion laughs" document: ``levels`` of lists of ``width`` aliases to the level below.
    Parsing is cheap; whatever walks the expanded tree pays width**levels. Each level costs the
    validator about 7 times the one below: 7 levels took ~3 s here, 9 levels minutes (which would hold
    the server past any phase, so nothing could be measured)."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        refs = ", ".join(f"*a{level - 1}" for _ in range(width))
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def large_flow(nodes: int = 3000) -> str:
    body: dict[str, object] = {}
    for index in range(nodes):
        body[f"n{index}"] = {"kind": "play", "prompts": ["greeting"], "next": f"n{index + 1}"}
    body[f"n{nodes}"] = {"kind": "hangup", "prompts": ["goodbye"]}
    flow = {"name": "large", "numbers": ["7999"], "languages": ["es", "en"], "start": "n0", "nodes": body}
    return yaml.safe_dump(flow)[:500_000]


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1


async def login_storm(client: httpx.AsyncClient, deadline: float, tally: Tally, worker: int) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        password = PASSWORD if worker % 2 else f"wrong-{random.random()}"
        try:
            response = await client.post("/api/v1/auth/login", json={"username": ADMIN, "password": password})
            tally.add(f"login {response.status_code}")
        except httpx.HTTPError as exc:
            tally.add(f"login {type(exc).__name__}")


async def validate_storm(client: httpx.AsyncClient, token: str | None, deadline: float, tally: Tally,
                         *, worker: int, bomb_levels: int) -> None:
    loop = asyncio.get_running_loop()
    documents = [anchor_bomb(bomb_levels), large_flow()]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    turn = worker
    while loop.time() < deadline:
        document = documents[turn % 2]
        turn += 1
        try:
            response = await client.post("/api/v1/flows/validate", json={"document": document}, headers=headers)
            tally.add(f"validate {response.status_code}")
        except httpx.HTTPError as exc:
            tally.add(f"validate {type(exc).__name__}")


async def register_storm(sip_port: int, deadline: float, tally: Tally, rate: float = 500.0) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    port = sock.getsockname()[1]
    next_at = loop.time()
    try:
        while loop.time() < deadline:
            user = f"u{random.randrange(100000)}"
            message = "\r\n".join([
                f"REGISTER sip:127.0.0.1:{sip_port} SIP/2.0",
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport",
                f"From: <sip:{user}@127.0.0.1>;tag={uuid.uuid4().hex[:8]}", f"To: <sip:{user}@127.0.0.1>",
                f"Call-ID: {uuid.uuid4().hex}@storm", "CSeq: 1 REGISTER", f"Contact: <sip:{user}@127.0.0.1:{port}>",
                "Expires: 60", "Max-Forwards: 70", "Content-Length: 0", "", "",
            ]).encode()
            with contextlib.suppress(BlockingIOError, ConnectionRefusedError):
                sock.sendto(message, ("127.0.0.1", sip_port))
                tally.add("register sent")
            while True:  # drain the answers (whatever they are)
                try:
                    sock.recv(4096)
                    tally.add("register answered")
                except (BlockingIOError, ConnectionRefusedError):
                    break
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - loop.time()))
    finally:
        sock.close()


async def hostile(url: str, sip_port: int, seconds: float, bomb_levels: int) -> dict[str, int]:
    tally = Tally()
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=url, timeout=10.0, limits=limits) as client:
        token = None
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            response = await client.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
            token = response.json()["token"]
        deadline = asyncio.get_running_loop().time() + seconds
        async with asyncio.TaskGroup() as tg:
            for worker in range(8):
                tg.create_task(login_storm(client, deadline, tally, worker))
            for worker in range(2):
                tg.create_task(validate_storm(client, token, deadline, tally, worker=worker, bomb_levels=bomb_levels))
            tg.create_task(register_storm(sip_port, deadline, tally))
    return tally.counts


# --------------------------------------------------------------------------- the bench

@dataclass(frozen=True)
class Row:
    name: str
    rtt_p50: float | None
    rtt_p99: float | None
    lost: int
    jitter_p99: float | None
    lag_p99_ms: float | None
    packets: int
    load: str


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


async def measure(caller: Caller, server: Server, name: str, seconds: float,
                  load: asyncio.subprocess.Process | None = None) -> Row:
    caller.phase = phase = Phase(name)
    caller.pings.clear()
    for call in caller.calls.values():
        call.last = None
    before = await asyncio.to_thread(lag_buckets, server.url)
    loop = asyncio.get_running_loop()
    await caller.ping_until(loop.time() + seconds)
    await asyncio.sleep(1.0)  # the last pings' answers
    caller.phase = Phase("between")  # what arrives from now on is not this phase's
    if load is not None:
        # The load ends with the phase; the server may still be working off what it accepted. The
        # callbacks it held late are in the histogram once they ran, so read it after that.
        await asyncio.wait_for(load.wait(), seconds + 60)
    after = await asyncio.to_thread(lag_buckets, server.url)
    lag = histogram_quantile(0.99, before, after)
    return Row(name, pct(phase.rtt_ms, 50), pct(phase.rtt_ms, 99), phase.pings - len(phase.rtt_ms),
               pct(phase.jitter_ms, 99), None if lag is None else lag * 1000, phase.packets, "")


async def hostile_process(server: Server, seconds: float, bomb_levels: int,
                          niceness: int = 0) -> tuple[asyncio.subprocess.Process, Path]:
    """The attacker in a process of its own. ``niceness`` > 0 runs it below the server: on a 2-core
    machine an attacker on the same host otherwise takes the server's CPU, which one on the
    network cannot; the bench shows both."""
    out = server.log_path.parent / f"hostile-{niceness}.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--hostile-worker", server.url, str(server.sip_port), str(seconds), str(out),
        str(bomb_levels), cwd=ROOT, preexec_fn=(lambda: os.nice(niceness)) if niceness else None,
    )
    return process, out


ATTACKER_NICENESS = 10


async def hostile_phase(caller: Caller, server: Server, name: str, seconds: float, *, bomb_levels: int,
                        niceness: int) -> Row:
    process, out = await hostile_process(server, seconds + 1.0, bomb_levels, niceness)
    try:
        await asyncio.sleep(1.0)  # the mix under way before measuring
        row = await measure(caller, server, name, seconds, load=process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    counts = json.loads(out.read_text()) if out.exists() else {}
    return Row(**{**row.__dict__, "load": ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))})


async def bench(server: Server, calls: int, seconds: float, bomb_levels: int) -> list[Row]:
    caller = Caller(server.sip_port, HOLD_NUMBER)
    caller.start()
    try:
        placed = await asyncio.gather(*(caller.place(n) for n in range(calls)), return_exceptions=True)
        failed = [p for p in placed if isinstance(p, BaseException)]
        if failed:
            print(f"{len(failed)} of {calls} calls were not answered: {failed[0]!r}", file=sys.stderr)
        await asyncio.sleep(2.0)  # every caller in the queue, music playing
        rows = [await measure(caller, server, "baseline", seconds)]
        for name, niceness in (("hostile mix", 0), ("mix, nice 10", ATTACKER_NICENESS)):
            rows.append(await hostile_phase(caller, server, name, seconds, bomb_levels=bomb_levels, niceness=niceness))
        for call in caller.calls.values():
            caller.hang_up(call)
        await asyncio.sleep(0.5)
        if caller.ended_by_server:
            print(f"note: the server ended {caller.ended_by_server} calls during the bench", file=sys.stderr)
        return rows
    finally:
        caller.close()


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return "> 5000" if value == float("inf") else f"{value:.2f}"


def report(rows: list[Row], calls: int, seconds: float, event_loop: str, niceness: int = 0) -> None:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"bench/loop_lag.py: {calls} calls holding in a queue (RTP 50 packets/s each), {seconds:g} s per phase, "
          f"server loop {event_loop}{f', server niceness {niceness}' if niceness else ''}, {os.cpu_count()} CPUs, "
          f"load average {load}")
    print(f"{'scenario':<12} {'SIP RTT p50 ms':>15} {'SIP RTT p99 ms':>15} {'lost':>5} {'RTP jitter p99 ms':>18} "
          f"{'loop lag p99 ms':>16} {'RTP packets':>12}")
    for row in rows:
        print(f"{row.name:<12} {fmt(row.rtt_p50):>15} {fmt(row.rtt_p99):>15} {row.lost:>5} {fmt(row.jitter_p99):>18} "
              f"{fmt(row.lag_p99_ms):>16} {row.packets:>12}")
    for row in rows:
        if row.load:
            print(f"{row.name} load: {row.load}")
    for mix in rows[1:]:
        verdict(mix)


def verdict(mix: Row) -> None:
    met = (mix.jitter_p99 is not None and mix.jitter_p99 < GOAL_JITTER_MS and mix.rtt_p99 is not None
           and mix.rtt_p99 < GOAL_RTT_MS and mix.lost == 0)
    print(f"goal with the {mix.name} (RTP jitter p99 < {GOAL_JITTER_MS:g} ms, SIP RTT p99 < {GOAL_RTT_MS:g} ms, "
          f"no OPTIONS lost): {'MET' if met else 'NOT MET'} "
          f"(jitter p99 {fmt(mix.jitter_p99)} ms, RTT p99 {fmt(mix.rtt_p99)} ms, lost {mix.lost})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto",
                        help="the server's event loop (IVR_EVENT_LOOP)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    parser.add_argument("--server-niceness", type=int, default=0,
                        help="run ivr serve at this niceness (e.g. -10, as media servers are run; needs root): "
                             "separates the code's figures from a busy machine's")
    parser.add_argument("--bomb-levels", type=int, default=7, help="nesting of the YAML anchor bomb (cost x7 each)")
    parser.add_argument("--hostile-worker", nargs=5, metavar=("URL", "SIP_PORT", "SECONDS", "OUT", "LEVELS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hostile_worker:
        url, sip_port, seconds, out, levels = args.hostile_worker
        counts = asyncio.run(hostile(url, int(sip_port), float(seconds), int(levels)))
        Path(out).write_text(json.dumps(counts))
        return
    if not 1 <= args.calls <= 200 or not 1 <= args.seconds <= 300 or not 1 <= args.bomb_levels <= 9:
        raise SystemExit("--calls must be 1..200, --seconds 1..300 and --bomb-levels 1..9")
    tmp = Path(tempfile.mkdtemp(prefix="puente-looplag-"))
    try:
        server = prepare(tmp, args.loop)
        with serving(server, args.server_niceness):
            rows = asyncio.run(bench(server, args.calls, args.seconds, args.bomb_levels))
        report(rows, args.calls, args.seconds, args.loop, args.server_niceness)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
