"""``ivr queues list|status`` and ``ivr agents list|set-state``: read from / write to the database,
so they work beside a running server (which applies state changes within about a second)."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from ivr.acd.config import AgentConfig, QueueConfig, load_agents
from ivr.acd.plugin import config_paths, configured_queues
from ivr.acd.status import queue_status
from ivr.acd.store import AcdStore
from ivr.acd.types import AgentState, UnknownAgent
from ivr.db.readiness import open_database
from ivr.settings import Settings


def _config(settings: Settings) -> tuple[dict[str, QueueConfig], dict[str, AgentConfig]]:
    _, agents_path = config_paths(settings)
    return configured_queues(settings), load_agents(agents_path)


T = TypeVar("T")


async def _with_store(settings: Settings, agents: dict[str, AgentConfig],
                      work: Callable[[AcdStore], Awaitable[T]]) -> T:
    db = await open_database(settings)
    try:
        store = AcdStore(db)
        await store.save_agents(agents.values())
        return await work(store)
    finally:
        await db.dispose()


@click.group()
def queues() -> None:
    """Queues: configuration and live status."""


@queues.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_queues(settings: Settings, as_json: bool) -> None:
    """The configured queues (dialplan/queues.yaml)."""
    configured, _ = _config(settings)
    if as_json:
        click.echo(json.dumps({name: q.to_dict() for name, q in configured.items()}, indent=2))
        return
    for q in configured.values():
        skills = ", ".join(f"{s}>={lvl}" for s, lvl in q.skills.items()) or "any agent"
        click.echo(f"{q.name:<12} skills: {skills:<20} SL {q.service_level.percent:g}% in "
                   f"{q.service_level.seconds:g}s  max wait {q.max_wait_seconds:g}s -> {q.overflow}")


@queues.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.option("--hours", default=24.0, show_default=True, help="Period for SL, abandon rate, ASA, EWT error.")
@click.pass_obj
def status(settings: Settings, as_json: bool, hours: float) -> None:
    """Per queue: waiting, longest wait, EWT, agents by state, SL, abandon rate, ASA, EWT error."""
    configured, agents = _config(settings)
    result = asyncio.run(_with_store(settings, agents, lambda s: queue_status(s, configured, hours=hours)))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for name, q in result.items():
        agents_text = " ".join(f"{k}={v}" for k, v in q["agents"].items() if v)
        click.echo(f"{name:<12} waiting {q['waiting']:>3}  longest {_fmt(q['longest_wait_seconds'], 's')}  "
                   f"EWT {_fmt(q['ewt_seconds'], 's')}  SL {_fmt(q['service_level']['achieved_percent'], '%')}  "
                   f"abandon {_fmt(q['abandon_rate'])}  ASA {_fmt(q['asa_seconds'], 's')}  "
                   f"EWT MAE {_fmt(q['ewt_mae_seconds'], 's')}  "
                   f"heard today: in band {_fmt(q['ewt_accuracy']['within_band_percent'], '%')} "
                   f"±25% {_fmt(q['ewt_accuracy']['within_25_percent'], '%')}  agents: {agents_text or 'none'}")


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


@click.group()
def agents() -> None:
    """Agents: list and change state."""


@agents.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_agents(settings: Settings, as_json: bool) -> None:
    """Agents with their live state."""
    _, configured = _config(settings)
    views = asyncio.run(_with_store(settings, configured, lambda s: s.agents()))
    rows = [{"id": v.agent_id, "name": v.name, "endpoint": v.endpoint, "skills": v.skills, "state": v.state.value,
             "reason": v.reason.value, "since": v.state_since.isoformat()} for v in views]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['id']:<10} {r['state']:<10} since {r['since']}  {r['endpoint']:<28} {r['name']}")


@agents.command("set-state")
@click.argument("agent_id")
@click.argument("state", type=click.Choice([s.value for s in AgentState if s is not AgentState.RINGING]))
@click.pass_obj
def set_state(settings: Settings, agent_id: str, state: str) -> None:
    """Change an agent's state (a running server applies it within about a second)."""
    _, configured = _config(settings)
    who = f"cli:{getpass.getuser()}"
    try:
        asyncio.run(_with_store(settings, configured,
                                lambda s: s.request_state(agent_id, AgentState(state), requested_by=who)))
    except UnknownAgent as exc:
        known = ", ".join(sorted(configured)) or "none"
        raise click.ClickException(f"no agent {exc} (agents: {known})") from None
    click.echo(f"{agent_id} -> {state}")
