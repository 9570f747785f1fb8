"""Does signing in disturb calls? SIP OPTIONS round trips while staff sign in, pool versus on-loop.

    .venv/bin/python bench/login_load.py [--parallel 8] [--rounds 3]

One process, one event loop, as in ``ivr serve``: the built-in SIP endpoint and the HTTP API (uvicorn)
with a user whose password uses the production argon2 cost (t=3, 64 MiB). A thread outside the
loop sends SIP OPTIONS every 10 ms and times each answer: first idle, then while ``--parallel``
sign-ins run at once, ``--rounds`` times. Two set-ups are compared: argon2 in the hashing pool
(Puente's way) and argon2 run directly on the event loop (how it was before). Printed: OPTIONS
round trips (median, p99, max, in ms) and how long the sign-ins took.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.hashing import PasswordHashing  # noqa: E402
from api.security import UserService  # noqa: E402
from ivr.channels.sip.audio import AudioLibrary  # noqa: E402
from ivr.channels.sip.channel import SipChannel  # noqa: E402
from ivr.channels.sip.endpoint import SipEndpoint  # noqa: E402
from ivr.settings import Settings, SipSettings  # noqa: E402
from ivr.web.auth import Role  # noqa: E402
from tests.support.app import app_for, make_container  # noqa: E402
from tests.support.database import sqlite_database  # noqa: E402
from tests.support.ui_server import serving  # noqa: E402

T = TypeVar("T")
PASSWORD = "bench-password-1"


class OnLoopHashing(PasswordHashing):
    """The old way, for comparison only: argon2 runs right on the event loop."""

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return fn(*args)


class OptionsPinger(threading.Thread):
    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.samples: list[float] = []
        self.stop = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5.0)

    def request(self, n: int) -> bytes:
        me = self.sock.getsockname()[1]
        return (f"OPTIONS sip:puente@127.0.0.1:{self.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-bench-{n};rport\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:bench@127.0.0.1>;tag=bench\r\n"
                "To: <sip:puente@127.0.0.1>\r\n"
                f"Call-ID: bench-{n}@127.0.0.1\r\n"
                f"CSeq: {n} OPTIONS\r\n"
                "Content-Length: 0\r\n\r\n").encode()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            sent = time.perf_counter()
            self.sock.sendto(self.request(n), ("127.0.0.1", self.port))
            try:
                self.sock.recvfrom(65536)
            except TimeoutError:
                self.samples.append(5.0)
                continue
            self.samples.append(time.perf_counter() - sent)
            self.stop.wait(0.01)

    def take(self) -> list[float]:
        taken, self.samples = self.samples, []
        return taken


def figures(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    if not ms:
        return "| - | - | - | 0 |"
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"| {statistics.median(ms):.2f} | {p99:.2f} | {ms[-1]:.2f} | {len(ms)} |"


async def never_called(channel: SipChannel) -> None:
    await channel.hangup()


async def measure(on_loop: bool, parallel: int, rounds: int, workdir: Path) -> tuple[list[str], float]:
    async with sqlite_database(workdir) as db:
        container = await make_container(db, Settings())
        users: UserService = container.web.users
        if on_loop:
            users.hashing = OnLoopHashing(users.hashing.hasher, workers=1, max_pending=1)
        await users.add_user("ana", PASSWORD, Role.ADMIN)
        endpoint = SipEndpoint(SipSettings(port=0, rtp_port_min=0), handler=never_called,
                               audio=AudioLibrary(lambda key: workdir / f"{key}.wav"))
        started = asyncio.Event()
        rows: list[str] = []
        async with asyncio.TaskGroup() as tg, serving(app_for(container)) as base:
            sip = tg.create_task(endpoint.run(started))
            await started.wait()
            pinger = OptionsPinger(endpoint.address[1])
            pinger.start()
            try:
                await asyncio.sleep(2.0)  # the idle baseline: this long of OPTIONS round trips
                rows.append("| idle " + figures(pinger.take()))
                took = 0.0
                async with httpx.AsyncClient(base_url=base, timeout=120) as client:
                    for _ in range(rounds):
                        t0 = time.perf_counter()
                        answers = await asyncio.gather(*(
                            client.post("/api/v1/auth/login", json={"username": "ana", "password": PASSWORD})
                            for _ in range(parallel)))
                        took += time.perf_counter() - t0
                        bad = [r.status_code for r in answers if r.status_code != 200]
                        if bad:
                            raise SystemExit(f"sign-ins failed: {bad}")
                rows.append(f"| {parallel} sign-ins at once " + figures(pinger.take()))
            finally:
                pinger.stop.set()
                await asyncio.to_thread(pinger.join)
                sip.cancel()
        await container.aclose()
        return rows, took / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for on_loop in (False, True):
        with tempfile.TemporaryDirectory(prefix="login-load-") as tmp:
            rows, took = asyncio.run(measure(on_loop, args.parallel, args.rounds, Path(tmp)))
        print(f"\n## argon2 {'on the event loop (before)' if on_loop else 'in the hashing pool (Puente)'}\n")
        print("| while | OPTIONS rtt median ms | p99 ms | max ms | samples |")
        print("|---|--:|--:|--:|--:|")
        for row in rows:
            print(row)
        print(f"\n{args.parallel} sign-ins took {took:.2f} s per round", flush=True)


if __name__ == "__main__":
    main()
