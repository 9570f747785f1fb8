"""Benchmark: how well do wait-time estimators predict the wait of a caller who must queue?

Discrete-event simulation of M/M/s+M queues (Poisson arrivals, exponential service, exponential
patience, FCFS) for several numbers of agents s, loads rho = lambda / (s*mu) and patience settings,
plus one case whose arrival rate follows a sine wave over the day. Every caller who finds all agents
busy gets a prediction from each estimator at arrival; callers who are then served score
``(prediction - actual wait)^2``. The table shows MSE / (mean wait)^2 (lower is better):

- puente: QL-m with the online mu/theta estimates exactly as the service computes them
  (``ivr.acd.ewt.QueueRates`` + ``predict``), falling back to LES while mu is unknown;
- les: the wait of the last caller to enter service;
- hol: how long the caller at the head of the line has waited;
- asterisk: app_queue's holdtime, ``(3*old + new)/4`` over answered calls, regardless of position.

Run: ``.venv/bin/python bench/ewt.py`` (about 15 s; ``--customers`` to trade time for noise).
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ivr.acd.ewt import QueueRates, predict

ESTIMATORS = ("puente", "les", "hol", "asterisk")


@dataclass(frozen=True)
class Case:
    name: str
    servers: int
    rho: float
    patience_ratio: float  # mean patience / mean service time
    varying: bool = False
    mean_service: float = 180.0


@dataclass
class Caller:
    ident: int
    arrival: float
    predictions: dict[str, float] = field(default_factory=dict)
    done: bool = False


@dataclass
class Score:
    squared: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ESTIMATORS, 0.0))
    waits: float = 0.0
    count: int = 0

    def add(self, caller: Caller, wait: float) -> None:
        for name in ESTIMATORS:
            self.squared[name] += (caller.predictions[name] - wait) ** 2
        self.waits += wait
        self.count += 1

    def nmse(self, name: str) -> float:
        mean = self.waits / self.count
        return (self.squared[name] / self.count) / (mean * mean)


ARRIVAL, DEPARTURE, ABANDON = 0, 1, 2


def simulate(case: Case, customers: int, seed: int) -> Score:
    rng = random.Random(seed)
    mu = 1.0 / case.mean_service
    theta = mu / case.patience_ratio
    base_rate = case.rho * case.servers * mu
    amplitude = 0.4 if case.varying else 0.0
    period = 8 * 3600.0  # one "day" of varying load
    peak = base_rate * (1 + amplitude)

    def next_arrival(now: float) -> float:
        t = now
        while True:  # thinning of a non-homogeneous Poisson process
            t += rng.expovariate(peak)
            rate = base_rate * (1 + amplitude * math.sin(2 * math.pi * t / period))
            if rng.random() * peak <= rate:
                return t

    rates = QueueRates()
    asterisk_holdtime = 0.0
    les: float | None = None
    busy = 0
    line: deque[Caller] = deque()
    ghosts: list[Caller] = []  # callers who hung up, until we know when they would have been served
    events: list[tuple[float, int, int, Caller | None]] = []
    seq = 0
    warmup = customers // 10
    score = Score()
    arrived = 0

    def push(t: float, kind: int, caller: Caller | None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, kind, caller))

    def start_service(now: float, caller: Caller) -> None:
        nonlocal busy, asterisk_holdtime, les
        busy += 1
        wait = now - caller.arrival
        caller.done = True
        asterisk_holdtime = (3 * asterisk_holdtime + wait) / 4
        les = wait
        rates.record_entered_service(wait)
        rates.record_exit(wait, abandoned=False)
        if caller.predictions and caller.ident >= warmup:
            score.add(caller, wait)
        service = rng.expovariate(mu)
        push(now + service, DEPARTURE, None)
        rates.record_service(service)

    push(next_arrival(0.0), ARRIVAL, None)
    while events:
        now, _, kind, caller = heapq.heappop(events)
        if kind == ARRIVAL:
            if arrived < customers:
                push(next_arrival(now), ARRIVAL, None)
            new = Caller(arrived, now)
            arrived += 1
            if busy < case.servers:
                rates.record_exit(0.0, abandoned=False)
                new.done = True
                busy += 1
                asterisk_holdtime = (3 * asterisk_holdtime) / 4
                les = 0.0
                rates.record_entered_service(0.0)
                service = rng.expovariate(mu)
                push(now + service, DEPARTURE, None)
                rates.record_service(service)
                continue
            head = line[0].arrival if line else None
            ours = predict(ahead=len(line), servers=case.servers, free_agent=False, rates=rates,
                           head_of_line_wait=(now - head) if head is not None else 0.0)
            new.predictions = {
                "puente": ours.seconds if ours is not None else 0.0,
                "les": les if les is not None else 0.0,
                "hol": (now - head) if head is not None else 0.0,
                "asterisk": asterisk_holdtime,
            }
            line.append(new)
            push(now + rng.expovariate(theta), ABANDON, new)
        elif kind == DEPARTURE:
            busy -= 1
            while line and line[0].done:
                line.popleft()
            head_arrival = line[0].arrival if line else math.inf
            still = []
            for ghost in ghosts:
                if ghost.arrival < head_arrival:  # nobody left ahead of them: this agent was theirs
                    if ghost.ident >= warmup:
                        score.add(ghost, now - ghost.arrival)
                else:
                    still.append(ghost)
            ghosts = still
            if line:
                start_service(now, line.popleft())
        elif caller is not None and not caller.done:  # ABANDON
            caller.done = True
            rates.record_exit(now - caller.arrival, abandoned=True)
            line.remove(caller)
            ghosts.append(caller)
        if arrived >= customers and busy == 0 and not line and not ghosts:
            break
    return score


def cases() -> list[Case]:
    out = []
    for servers in (1, 5, 20):
        for rho in (0.8, 0.95, 1.1):
            for patience in (0.5, 2.0):
                out.append(Case(f"s={servers} rho={rho} patience={patience}x", servers, rho, patience))
    out.append(Case("time-varying s=10 rho~0.95(±40%) patience=1x", 10, 0.95, 1.0, varying=True))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=150_000, help="callers per case")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.monotonic()
    header = f"{'case':<46} {'delayed':>8} {'mean wait':>9} " + " ".join(f"{n:>9}" for n in ESTIMATORS)
    print(header)
    print("-" * len(header))
    failures = []
    for i, case in enumerate(cases()):
        score = simulate(case, args.customers, args.seed + i)
        values = {n: score.nmse(n) for n in ESTIMATORS}
        best = min(values.values())
        ratio = values["asterisk"] / values["puente"]
        marks = " ".join(f"{values[n]:>8.3f}{'*' if values[n] <= best * 1.05 else ' '}" for n in ESTIMATORS)
        print(f"{case.name:<46} {score.count:>8} {score.waits / score.count:>8.0f}s {marks}  ast/puente={ratio:.1f}x")
        if values["puente"] > best * 1.05:
            failures.append(f"{case.name}: puente not best or tied-best")
        if not case.varying and ratio < 2.0:
            failures.append(f"{case.name}: puente only {ratio:.1f}x better than asterisk")
    print("-" * len(header))
    print("MSE / (mean potential wait)^2 over callers who had to wait; * = best or within 5% of best")
    print(f"elapsed {time.monotonic() - started:.0f}s")
    for failure in failures:
        print("GOAL MISSED:", failure)


if __name__ == "__main__":
    main()
