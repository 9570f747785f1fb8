"""Checking flows in a worker process: hostile documents get one clear line from the checker and
the CLI, the deadline holds, and the event loop keeps running while a large flow is checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.flows.checking import FlowChecker, check_paths
from ivr.flows.errors import FlowRefused
from ivr.flows.validate import References
from ivr.flows.yamlload import FlowLimits
from tests.flows.test_yamlload import BOMB, SELF_ALIAS, chain_flow

LIMITS = FlowLimits()
DEEP = "x: " + "[" * 200 + "]" * 200 + "\n"
HOSTILE = {
    "bomb.yaml": (BOMB, "line 2: YAML aliases (*a) are not allowed in flows"),
    "self.yaml": (SELF_ALIAS, "line 1: YAML aliases (*a) are not allowed in flows"),
    "deep.yaml": (DEEP, f"line 1: nested more than {LIMITS.max_depth} levels deep"),
    "huge.yaml": (chain_flow(LIMITS.max_nodes + 1), f"the flow has {LIMITS.max_nodes + 1} nodes; "
                                                     f"the limit is {LIMITS.max_nodes}"),
}


@pytest.fixture
async def checker() -> AsyncIterator[FlowChecker]:
    checker = FlowChecker(References(), LIMITS)
    yield checker
    await checker.aclose()


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_documents_are_refused_with_one_line(checker: FlowChecker, name: str) -> None:
    text, message = HOSTILE[name]
    with pytest.raises(FlowRefused) as caught:
        await checker.check(text, source=name)
    assert str(caught.value) == message


async def test_an_oversized_document_is_refused_before_the_worker(checker: FlowChecker) -> None:
    text = chain_flow(6_000)
    with pytest.raises(FlowRefused, match=rf"the flow is {len(text)} bytes; the limit is {LIMITS.max_bytes} bytes"):
        await checker.check(text, source="big")


async def test_a_check_past_its_deadline_is_a_clear_error() -> None:
    slow = FlowChecker(References(), FlowLimits(validate_seconds=0.001))
    try:
        with pytest.raises(FlowRefused, match=r"^flow too complex to validate within 0.001 s$"):
            await slow.check(chain_flow(LIMITS.max_nodes), source="big")
    finally:
        await slow.aclose()


async def test_the_loop_keeps_running_while_a_large_flow_is_checked(checker: FlowChecker) -> None:
    loop = asyncio.get_running_loop()
    await checker.check(chain_flow(2), source="warm-up")  # a worker starts once
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = loop.time()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = loop.time()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    try:
        checked = await checker.check(chain_flow(LIMITS.max_nodes), source="big")
    finally:
        done.set()
        await ticker
    assert checked.flow is not None and checked.problems == []
    assert gaps, "the ticker never ran while the flow was checked"
    assert max(gaps) < 0.25  # generous: the check itself takes far longer on this machine


# --------------------------------------------------------------------------- the CLI
def test_cli_reports_each_hostile_file_in_one_line(tmp_path: Path) -> None:
    for name, (text, _) in HOSTILE.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "big.yaml").write_text("x: " + "a" * (LIMITS.max_bytes + 1) + "\n")
    result = CliRunner().invoke(main, ["flows", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    lines = result.stdout.splitlines()
    expected = {f"{tmp_path / name}:-: {message}" for name, (_, message) in HOSTILE.items()}
    expected.add(f"{tmp_path / 'big.yaml'}:-: the flow is {LIMITS.max_bytes + 5} bytes; "
                 f"the limit is {LIMITS.max_bytes} bytes")
    assert lines[-1] == f"{len(expected)} problem(s)"
    assert set(lines[:-1]) == expected


async def test_check_paths_reports_set_clashes(tmp_path: Path, checker: FlowChecker) -> None:
    (tmp_path / "a.yaml").write_text(chain_flow(2))
    (tmp_path / "b.yaml").write_text(chain_flow(2).replace("name: big", "name: other"))
    found = [p.message for p in await check_paths([tmp_path], checker)]
    assert found == ["2 default flows ('big', 'other'): exactly one flow may have default: true"]
