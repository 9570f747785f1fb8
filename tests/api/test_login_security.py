"""Signing in cannot stall the event loop nor be brute-forced: argon2 in a bounded pool off the loop,
throttling per account and per client IP (delays, locks, audit), the dummy hash for unknown users, a
form that signs in without JavaScript, and forwarded headers believed only from trusted proxies."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from argon2 import PasswordHasher

from api.hashing import PasswordHashing
from api.login import LoginGate, LoginPolicies
from api.plugin import uvicorn_config
from api.security import AuditLog, UserService
from api.throttle import BlockKind, FailureThrottle, ThrottlePolicy
from api.ui.routes import HERE as UI_DIR
from ivr.composition import Container
from ivr.db import Database
from ivr.settings import HttpSettings, Settings
from ivr.web.auth import Role
from tests.support.app import app_for, make_container

PASSWORD = "correct-horse"


class RecordingHasher(PasswordHasher):
    """Cheap argon2 that notes which thread did each hash and which hashes were verified; ``gate``
    (when set) holds every verification until released."""

    def __init__(self, time_cost: int = 1, memory_cost: int = 1024) -> None:
        super().__init__(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
        self.threads: list[str] = []
        self.niceness: list[int] = []
        self.verified: list[str] = []
        self.gate: threading.Event | None = None
        self.spans: list[tuple[float, float]] = []  # (start, end) of each verification, time.monotonic()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.append(threading.current_thread().name)
        self.niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.threads.append(threading.current_thread().name)
        self.verified.append(str(hash))
        if self.gate is not None:
            assert self.gate.wait(timeout=10), "the test never released the gate"
        started = time.monotonic()
        try:
            return super().verify(hash, password)
        finally:
            self.spans.append((started, time.monotonic()))


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    container: Container
    client: httpx.AsyncClient
    hasher: RecordingHasher
    clock: FakeClock
    users: UserService
    audit: AuditLog
    extra: dict[str, Any] = field(default_factory=dict)

    async def login(self, username: str, password: str, **headers: str) -> httpx.Response:
        return await self.client.post("/api/v1/auth/login", json={"username": username, "password": password},
                                      headers=headers)

    async def actions(self) -> list[dict[str, Any]]:
        return list(reversed(await self.audit.recent(200)))


def settings(**auth: Any) -> Settings:
    http = auth.pop("http", {})
    base = {"password_time_cost": 1, "password_memory_kib": 1024, "login_max_failures_account": 5,
            "login_max_failures_address": 50, "login_free_failures_address": 5}
    return Settings(auth={**base, **auth}, http=http)


async def _env(db: Database, s: Settings, hasher: RecordingHasher) -> Env:
    container = await make_container(db, s)
    users: UserService = container.web.users
    users.hashing = users.hashing.with_hasher(hasher)
    await users.add_user("ana", PASSWORD, Role.ADMIN)
    await users.add_user("alex", "agent-pass", Role.AGENT, agent_id="a1")
    clock = FakeClock()
    policies = LoginPolicies.from_settings(s.auth)
    audit: AuditLog = container.web.audit
    gate = LoginGate(users, audit, accounts=FailureThrottle(policies.account, clock=clock),
                     addresses=FailureThrottle(policies.address, clock=clock))
    container = replace(container, web=replace(container.web, login=gate))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(container)), base_url="http://test")
    return Env(container, client, hasher, clock, users, audit)


@pytest.fixture
async def env(sqlite_db: Database) -> AsyncIterator[Env]:
    e = await _env(sqlite_db, settings(), RecordingHasher())
    try:
        yield e
    finally:
        await e.client.aclose()
        await e.container.aclose()


# --------------------------------------------------------------------------- hashing off the loop


async def test_hashing_and_verification_run_in_the_pool_threads(env: Env) -> None:
    env.hasher.threads.clear()
    assert (await env.login("ana", PASSWORD)).status_code == 200
    await env.users.add_user("newbie", "long-enough", Role.AGENT)
    assert len(env.hasher.threads) == 2
    assert all(name.startswith("puente-hash") for name in env.hasher.threads), env.hasher.threads
    assert threading.main_thread().name not in env.hasher.threads
    # and at a lower priority than the event loop's thread, which paces RTP
    assert env.hasher.niceness and all(n > os.getpriority(os.PRIO_PROCESS, 0) for n in env.hasher.niceness)


async def test_the_loop_keeps_ticking_through_eight_concurrent_logins(sqlite_db: Database) -> None:
    # Real argon2 cost (64 MiB, t=2). A hash on the loop would hold it for the whole verification, so
    # no tick could fall inside one; off the loop the ticker goes on while the workers hash. Counting
    # ticks inside the verifications (not comparing durations) keeps this true on a loaded machine.
    hasher = RecordingHasher(time_cost=2, memory_cost=65536)
    e = await _env(sqlite_db, settings(hash_workers=2, hash_max_pending=16), hasher)
    try:
        ticks: list[float] = []
        done = asyncio.Event()

        async def tick() -> None:
            while not done.is_set():
                await asyncio.sleep(0.002)
                ticks.append(time.monotonic())

        ticker = asyncio.create_task(tick())
        try:
            answers = await asyncio.gather(*(e.login("ana", PASSWORD) for _ in range(8)))
        finally:
            done.set()
            await ticker
        assert [r.status_code for r in answers] == [200] * 8
        assert len(hasher.spans) == 8
        during = [t for t in ticks if any(start < t < end for start, end in hasher.spans)]
        assert len(during) >= 3, (len(during), len(ticks), hasher.spans)
        loop_thread = threading.current_thread().name
        assert loop_thread not in hasher.threads
    finally:
        await e.client.aclose()
        await e.container.aclose()


async def test_a_full_pool_answers_503_with_retry_after(env: Env) -> None:
    gated = RecordingHasher()
    gated.gate = threading.Event()
    env.users.hashing = PasswordHashing(gated, workers=1, max_pending=1)
    first = asyncio.create_task(env.login("ana", PASSWORD))
    deadline = time.monotonic() + 10
    while env.users.hashing.pending < 1:  # the first check holds the only slot
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    second = await env.login("alex", "agent-pass")
    assert second.status_code == 503 and second.headers["retry-after"] == "1"
    gated.gate.set()
    assert (await first).status_code == 200
    env.users.hashing.close()


# --------------------------------------------------------------------------- throttling

POLICY = ThrottlePolicy(max_failures=5, free_failures=0, delay_seconds=1.0, max_delay_seconds=30.0,
                        lock_seconds=900.0, max_lock_seconds=86400.0, forget_seconds=3600.0, max_entries=10)


def test_delays_double_then_a_lock_that_doubles() -> None:
    clock = FakeClock()
    t = FailureThrottle(POLICY, clock=clock)
    waits = []
    for _ in range(4):
        t.failed("k")
        block = t.blocked("k")
        assert block is not None and block.kind is BlockKind.DELAY
        waits.append(block.retry_after)
        clock.now += block.retry_after
        assert t.blocked("k") is None
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert t.failed("k").locked_for == 900.0
    block = t.blocked("k")
    assert block is not None and block.kind is BlockKind.LOCKED and block.retry_after_header == "900"
    clock.now += 900
    for _ in range(4):
        t.failed("k")
        clock.now += 30
    assert t.failed("k").locked_for == 1800.0  # the second lock is twice as long
    t.clear("k")
    assert t.blocked("k") is None


def test_the_throttle_state_is_bounded_and_forgets() -> None:
    clock = FakeClock()
    t = FailureThrottle(POLICY, clock=clock)
    for i in range(1000):
        t.failed(f"user{i}")
    assert len(t) <= POLICY.max_entries
    assert t.blocked("user999") is not None  # the newest survive
    clock.now += 2 + POLICY.forget_seconds
    t.failed("fresh")
    assert t.failed("user999").failures == 1  # forgotten: counting starts again


async def test_an_immediate_retry_is_refused_without_hashing(env: Env) -> None:
    assert (await env.login("ana", "wrong-one")).status_code == 401
    env.hasher.verified.clear()
    again = await env.login("ana", PASSWORD)
    assert again.status_code == 429 and again.headers["retry-after"] == "1"
    assert "wait" in again.json()["detail"]
    assert env.hasher.verified == []  # refused before any argon2 work


async def test_five_failures_lock_the_account_with_a_message_and_audit(env: Env) -> None:
    for _ in range(5):
        r = await env.login("ana", "wrong-one")
        assert r.status_code == 401
        env.clock.now += 60
    locked = await env.login("ana", PASSWORD)  # even the right password waits out the lock
    assert locked.status_code == 429
    assert 800 <= int(locked.headers["retry-after"]) <= 900
    assert "locked" in locked.json()["detail"] and "minutes" in locked.json()["detail"]
    actions = [(a["action"], a["target"]) for a in await env.actions()]
    assert actions.count(("auth.login_failed", "ana")) == 5
    assert ("auth.locked", "ana") in actions
    failed = [a for a in await env.actions() if a["action"] == "auth.login_failed"]
    assert [a["detail"]["failures"] for a in failed] == [1, 2, 3, 4, 5]
    assert all(a["detail"]["ip"] == "127.0.0.1" for a in failed)
    env.clock.now += 901
    assert (await env.login("ana", PASSWORD)).status_code == 200


async def test_a_success_resets_the_account_counter(env: Env) -> None:
    for _ in range(3):
        assert (await env.login("ana", "wrong-one")).status_code == 401
        env.clock.now += 60
    assert (await env.login("ana", PASSWORD)).status_code == 200
    assert (await env.login("ana", "wrong-one")).status_code == 401
    last = [a for a in await env.actions() if a["action"] == "auth.login_failed"][-1]
    assert last["detail"]["failures"] == 1
    assert any(a["action"] == "auth.login" and a["target"] == "ana" for a in await env.actions())


async def test_one_address_guessing_many_accounts_is_locked(sqlite_db: Database) -> None:
    e = await _env(sqlite_db, settings(login_max_failures_address=4, login_free_failures_address=2),
                   RecordingHasher())
    try:
        for i in range(4):
            assert (await e.login(f"user{i}", "wrong-one")).status_code == 401
            e.clock.now += 60
        r = await e.login("ana", PASSWORD)  # another account, same address: locked
        assert r.status_code == 429 and "network address" in r.json()["detail"]
        assert any(a["action"] == "auth.locked" and a["target"] == "127.0.0.1" for a in await e.actions())
    finally:
        await e.client.aclose()
        await e.container.aclose()


async def test_unknown_users_cost_one_verification_against_the_dummy_hash(env: Env) -> None:
    env.hasher.verified.clear()
    assert (await env.login("ana", "wrong-one")).status_code == 401
    assert (await env.login("nobody", "wrong-one")).status_code == 401
    known, unknown = env.hasher.verified
    assert known != unknown
    # the same argon2 parameters (hence the same work), only a different hash
    params = re.compile(r"^\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$")
    assert params.match(known).group(0) == params.match(unknown).group(0)  # type: ignore[union-attr]
    assert (await env.login("someone-else", "wrong-one")).status_code == 401
    assert env.hasher.verified[-1] == unknown  # one dummy hash, reused


# --------------------------------------------------------------------------- the form, without JavaScript


def test_the_login_template_posts_and_loads_no_script() -> None:
    html = (Path(UI_DIR) / "templates" / "login.html").read_text(encoding="utf-8")
    form = re.search(r"<form[^>]*>", html)
    assert form is not None and 'method="post"' in form.group(0) and 'action="/ui/login"' in form.group(0)
    assert "login.js" not in html


async def test_the_form_signs_in_sets_the_cookie_and_redirects(env: Env) -> None:
    page = await env.client.get("/ui/login", params={"next": "/ui/admin/users"})
    assert 'method="post"' in page.text and 'name="next" value="/ui/admin/users"' in page.text
    r = await env.client.post("/ui/login", data={"username": "ana", "password": PASSWORD, "next": "/ui/admin/users"})
    assert r.status_code == 303 and r.headers["location"] == "/ui/admin/users"
    cookie = r.headers["set-cookie"]
    assert "puente_session=" in cookie and "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert (await env.client.get("/ui/admin/users")).status_code == 200  # the cookie is a session


async def test_the_form_refuses_wrong_passwords_foreign_origins_and_open_redirects(env: Env) -> None:
    wrong = await env.client.post("/ui/login", data={"username": "ana", "password": "wrong-one"})
    assert wrong.status_code == 401 and "Wrong username or password." in wrong.text
    assert "wrong-one" not in wrong.text and "puente_session" not in wrong.headers.get("set-cookie", "")
    env.clock.now += 60
    foreign = await env.client.post("/ui/login", data={"username": "ana", "password": PASSWORD},
                                    headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "set-cookie" not in foreign.headers
    for bad_next in ("https://evil.example/", "//evil.example/ui/desk", "/ui/../x"):
        env.client.cookies.clear()
        r = await env.client.post("/ui/login", data={"username": "ana", "password": PASSWORD, "next": bad_next})
        assert r.status_code == 303 and r.headers["location"] == "/ui/wallboard", bad_next


async def test_the_form_shows_the_lock(env: Env) -> None:
    for _ in range(5):
        await env.client.post("/ui/login", data={"username": "ana", "password": "wrong-one"})
        env.clock.now += 60
    r = await env.client.post("/ui/login", data={"username": "ana", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 60 and "locked" in r.text


# --------------------------------------------------------------------------- trusted proxies


def test_uvicorn_itself_trusts_no_forwarded_headers() -> None:
    config = uvicorn_config(app_for_nothing(), HttpSettings())
    assert config.proxy_headers is False and config.forwarded_allow_ips == []


def app_for_nothing() -> Any:
    from fastapi import FastAPI

    return FastAPI()


@pytest.mark.parametrize("trusted", [False, True])
async def test_forwarded_for_counts_only_from_trusted_proxies_for_logins(sqlite_db: Database, trusted: bool) -> None:
    http = {"trusted_proxies": ["127.0.0.1"]} if trusted else {}
    e = await _env(sqlite_db, settings(login_max_failures_address=3, login_free_failures_address=3, http=http),
                   RecordingHasher())
    try:
        codes = []
        for i in range(4):
            r = await e.login(f"user{i}", "wrong-one", **{"X-Forwarded-For": f"203.0.113.{i}"})
            codes.append(r.status_code)
            e.clock.now += 60
        failed = [a["detail"]["ip"] for a in await e.actions() if a["action"] == "auth.login_failed"]
        if trusted:  # four clients behind the proxy, each with its own count
            assert codes == [401] * 4 and failed == [f"203.0.113.{i}" for i in range(4)]
        else:  # one local client choosing headers: one address, locked at 3
            assert codes == [401, 401, 401, 429] and set(failed) == {"127.0.0.1"}
    finally:
        await e.client.aclose()
        await e.container.aclose()


@pytest.mark.parametrize("trusted", [False, True])
async def test_forwarded_for_counts_only_from_trusted_proxies_for_links(sqlite_db: Database, trusted: bool) -> None:

    http = {"trusted_proxies": ["127.0.0.0/8"]} if trusted else {}
    s = Settings(http=http, deflection={"miss_rate_limit_per_minute": 3})
    container = await make_container(sqlite_db, s)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(container)),
                                     base_url="http://test") as client:
            codes = []
            for i in range(6):
                r = await client.get(f"/c/{'x' * 30}{i}", headers={"X-Forwarded-For": f"198.51.100.{i}"})
                codes.append(r.status_code)
        if trusted:
            assert codes == [404] * 6  # each forwarded client within its own limit (unknown tokens)
        else:
            assert codes == [404, 404, 404, 429, 429, 429]  # the header changes nothing
    finally:
        await container.aclose()
