"""Checking flows off the event loop that carries calls.

Every document an admin, a supervisor or the database hands us is read and checked in a worker
process (:class:`~ivr.offload.ProcessRunner`), under the size / nesting / value / node limits of
:class:`~ivr.flows.yamlload.FlowLimits` and a deadline (``validate_seconds``).

Why a process and not a thread: the limits make a flow small, but the checker is pure Python
(pydantic, graph walks, the PyYAML composer), so in a thread it would hold the GIL and slow every
call's signalling for as long as it runs, and a thread cannot be stopped at its deadline. A
worker process runs beside the loop, is killed at the deadline (and replaced), and has its own
memory cap. Two long-lived workers with the checker imported make a check cost what the check
costs, plus a pickle each way.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.flows.changes import Changes, compare
from ivr.flows.coverage import coverage_warnings
from ivr.flows.errors import FlowRefused, InvalidYaml
from ivr.flows.loader import flow_set_problems, parse_flow_data
from ivr.flows.roundtrip import NodeEdit, edit_node
from ivr.flows.schema import Flow
from ivr.flows.validate import Problem, References, check_loaded
from ivr.flows.yamlload import DEFAULT_LIMITS, FlowLimits, check_size, load_flow_yaml
from ivr.offload import ProcessRunner, RunnerFailed, RunnerTimeout
from ivr.settings import Settings

log = logging.getLogger(__name__)

# Imported by each worker when it starts, so a check costs only the check.
PRELOAD = ("ivr.flows.checking",)


@dataclass(frozen=True, slots=True)
class Checked:
    flow: Flow | None
    problems: list[Problem]
    data: Any  # the document's value (the editor's node form reads it)
    warnings: list[Problem] = field(default_factory=list)  # shown, never blocking (ivr/flows/coverage.py)


def limits_of(settings: Settings) -> FlowLimits:
    s = settings.flows
    return FlowLimits(max_bytes=s.max_bytes, max_depth=s.max_depth, max_values=s.max_values, max_nodes=s.max_nodes,
                      validate_seconds=s.validate_seconds)


def default_runner() -> ProcessRunner:
    return ProcessRunner(workers=2, max_waiting=8, preload=PRELOAD)


class FlowChecker:
    """``check`` (everything ``ivr flows check`` checks), ``parse`` (the schema only, for the
    flows in service), ``load`` / ``edit_node`` (YAML for the editor), each in a worker under a deadline.

    Raises :class:`FlowRefused` for a document past a limit or the deadline, and
    :class:`~ivr.offload.RunnerBusy` when too many checks are already waiting."""

    def __init__(
        self, refs: References, limits: FlowLimits = DEFAULT_LIMITS, runner: ProcessRunner | None = None
    ) -> None:
        self.refs = refs
        self.limits = limits
        self._runner = runner if runner is not None else default_runner()

    async def aclose(self) -> None:
        await self._runner.aclose()

    async def check(self, text: str, *, source: str) -> Checked:
        check_size(text, self.limits)  # before a large text is copied to a worker
        result: Checked = await self._run(_check_job, text, source, self.refs, self.limits)
        return result

    async def parse(self, text: str, *, source: str) -> tuple[Flow | None, list[Problem]]:
        check_size(text, self.limits)
        result: tuple[Flow | None, list[Problem]] = await self._run(_parse_job, text, source, self.limits)
        return result

    async def load(self, text: str) -> Any:
        """The value of a YAML document under the limits (:class:`InvalidYaml` when malformed)."""
        check_size(text, self.limits)
        return await self._run(_load_job, text, self.limits)

    async def edit_node(self, text: str, edit: NodeEdit) -> str:
        """The document with one node edited in place, comments and layout kept
        (:mod:`ivr.flows.roundtrip`); raises :class:`~ivr.flows.roundtrip.UnknownNode`,
        :class:`InvalidYaml` and :class:`FlowRefused`."""
        check_size(text, self.limits)
        result: str = await self._run(_edit_node_job, text, edit, self.limits)
        return result

    async def diff(self, old: str, new: str, old_label: str, new_label: str) -> str:
        """A unified diff (difflib can be slow on large, repetitive documents)."""
        text: str = await self._run(_diff_job, old, new, old_label, new_label)
        return text

    async def changes(self, old: str, new: str) -> Changes:
        """What ``new`` changes from ``old`` (nodes, menu keys); either may be malformed (then it
        counts as empty): the summary is for a confirmation, the checks are elsewhere."""
        check_size(old, self.limits)
        check_size(new, self.limits)
        result: Changes = await self._run(_changes_job, old, new, self.limits)
        return result

    async def _run(self, job: Any, *args: Any) -> Any:
        seconds = self.limits.validate_seconds
        try:
            return await self._runner.run(job, *args, timeout=seconds)
        except RunnerTimeout:
            raise FlowRefused(f"flow too complex to validate within {seconds:g} s") from None
        except RunnerFailed as exc:
            log.error("flow check failed in its worker", extra={"error": str(exc)})
            raise FlowRefused(f"the flow could not be checked: {exc}") from None


def _guarded(message: str) -> FlowRefused:
    return FlowRefused(f"the flow is too large to check ({message})")


def _check_job(text: str, source: str, refs: References, limits: FlowLimits) -> Checked:
    try:
        tree, data = load_flow_yaml(text, limits)
        flow, problems = check_loaded(tree, data, source=source, refs=refs)
        warnings = coverage_warnings(flow, refs.prompts, source=source) if flow is not None else []
    except InvalidYaml as exc:
        return Checked(None, [Problem(source, None, str(exc))], None)
    except MemoryError:
        raise _guarded("the checker's memory limit was reached") from None
    except RecursionError:
        raise _guarded("nested too deeply") from None
    return Checked(flow, problems, data, warnings)


def _parse_job(text: str, source: str, limits: FlowLimits) -> tuple[Flow | None, list[Problem]]:
    try:
        _, data = load_flow_yaml(text, limits)
        return parse_flow_data(data, source=source)
    except InvalidYaml as exc:
        return None, [Problem(source, None, str(exc))]
    except MemoryError:
        raise _guarded("the checker's memory limit was reached") from None
    except RecursionError:
        raise _guarded("nested too deeply") from None


def _load_job(text: str, limits: FlowLimits) -> Any:
    return load_flow_yaml(text, limits)[1]


def _changes_job(old: str, new: str, limits: FlowLimits) -> Changes:
    return compare(_value_or_none(old, limits), _value_or_none(new, limits))


def _value_or_none(text: str, limits: FlowLimits) -> Any:
    try:
        return load_flow_yaml(text, limits)[1]
    except InvalidYaml:
        return None


def _diff_job(old: str, new: str, old_label: str, new_label: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=old_label, tofile=new_label))


def _edit_node_job(text: str, edit: NodeEdit, limits: FlowLimits) -> str:
    try:
        return edit_node(text, edit, limits)
    except MemoryError:
        raise _guarded("the checker's memory limit was reached") from None
    except RecursionError:
        raise _guarded("nested too deeply") from None


# --------------------------------------------------------------------------- files (the CLI)
async def check_paths(paths: Iterable[Path], checker: FlowChecker) -> list[Problem]:
    """Every problem in these flow files (folders: their ``*.yaml``), plus clashes between them."""
    paths = list(paths)
    problems: list[Problem] = []
    flows: list[Flow] = []
    for path in _expand(paths, problems):
        flow, found = await check_file(path, checker)
        problems.extend(found)
        if flow is not None:
            flows.append(flow)
    clashes = flow_set_problems(flows)
    if clashes:
        where = ", ".join(sorted({str(p) for p in paths}))
        problems.extend(Problem(where, None, clash) for clash in clashes)
    return problems


async def check_file(path: Path, checker: FlowChecker) -> tuple[Flow | None, list[Problem]]:
    try:
        text = await asyncio.to_thread(read_limited, path, checker.limits)
        checked = await checker.check(text, source=str(path))
    except OSError as exc:
        return None, [Problem(str(path), None, f"cannot read: {exc}")]
    except UnicodeDecodeError as exc:
        return None, [Problem(str(path), None, f"not UTF-8 text: {exc.reason} at byte {exc.start}")]
    except FlowRefused as exc:
        return None, [Problem(str(path), None, str(exc))]
    return checked.flow, checked.problems


def read_limited(path: Path, limits: FlowLimits) -> str:
    """The text of a flow file, refusing (before reading it) one larger than the limit."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise FlowRefused(f"the flow is {size} bytes; the limit is {limits.max_bytes} bytes")
    return path.read_text(encoding="utf-8")


def _expand(paths: Iterable[Path], problems: list[Problem]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                problems.append(Problem(str(path), None, "no flow files (*.yaml) in this folder"))
            yield from found
        elif path.is_file():
            yield path
        else:
            problems.append(Problem(str(path), None, "no such file"))
