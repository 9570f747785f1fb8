"""The HTTP flood guard refuses a flooding address with 429 before routing and body parsing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import generate_latest

from ivr.db import Database
from tests.api.test_login_security import PASSWORD, Env, RecordingHasher, _env, env, settings

__all__ = ["env"]  # the fixture, shared with the login tests


@pytest.fixture
async def tight(sqlite_db: Database) -> AsyncIterator[Env]:
    e = await _env(sqlite_db, settings(http={"flood_rate": 5, "flood_burst": 10}), RecordingHasher())
    try:
        yield e
    finally:
        await e.client.aclose()
        await e.container.aclose()


def refused_metric(env: Env, reason: str) -> float:
    text = generate_latest(env.container.observability.metrics.registry).decode()
    prefix = f'puente_http_flood_refused_total{{reason="{reason}"}} '
    return float(next(line for line in text.splitlines() if line.startswith(prefix))[len(prefix):])


async def test_an_address_past_its_rate_gets_429_and_probes_still_answer(tight: Env) -> None:
    statuses = [(await tight.client.get("/api/v1/auth/me")).status_code for _ in range(16)]
    assert statuses[:10] == [401] * 10  # the burst reaches the routes
    assert 429 in statuses[10:]  # then the rate (5/s) refuses most
    refused = await tight.client.get("/api/v1/auth/me")
    if refused.status_code == 429:
        assert refused.headers["retry-after"] == "1" and "slow down" in refused.json()["detail"]
    assert (await tight.client.get("/health")).status_code == 200  # a bucket of their own
    assert refused_metric(tight, "rate") == statuses.count(429) + (refused.status_code == 429)


async def test_a_held_back_address_is_refused_before_its_body_is_read(env: Env) -> None:
    for n in range(6):  # past the address's free failures: it must wait before the next try
        assert (await env.login(f"nobody{n}", "wrong")).status_code == 401
    env.hasher.verified.clear()
    # Not even valid JSON: the route would answer 422; the guard answers first, from the scope alone.
    raw = await env.client.post("/api/v1/auth/login", content=b"{not json",
                                headers={"content-type": "application/json"})
    assert raw.status_code == 429 and int(raw.headers["retry-after"]) >= 1
    assert "wait" in raw.json()["detail"].lower()
    form = await env.client.post("/ui/login", data={"username": "ana", "password": PASSWORD})
    assert form.status_code == 429 and form.headers["content-type"].startswith("text/html")
    assert "/ui/login" in form.text
    assert env.hasher.verified == []  # no password was checked
    assert refused_metric(env, "login_locked") == 2
    # other routes from that address go on (the block is about signing in)
    assert (await env.client.get("/api/v1/auth/me")).status_code == 401
