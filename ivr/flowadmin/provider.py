"""The flows the engine runs: YAML files, overlaid by versions published in the database."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from ivr.flowadmin.store import FlowVersion, FlowVersionStore
from ivr.flows.checking import FlowChecker
from ivr.flows.errors import FlowRefused
from ivr.flows.loader import FileFlowProvider, FlowSet, flow_set_problems
from ivr.flows.schema import Flow
from ivr.offload import RunnerBusy

log = logging.getLogger(__name__)

_Parsed = Flow | str  # a flow, or why the stored document is not one


class PublishedFlowProvider:
    """Implements the engine's ``FlowProvider``. ``refresh()`` rebuilds the overlay from the DB.

    It never gets stuck on a bad set: each flow is taken on its own. A published version that does
    not parse, or that would clash with the flows in service (a second default flow, a number
    another flow answers), is left out and the flow keeps the version it had; every other flow's
    change is still applied. Each such problem is logged once, when it first appears, not at
    every poll. Publishing through :class:`~ivr.flowadmin.service.FlowAdminService` refuses such a
    version up front (409); this guards against other writers and races between processes."""

    name = "flow-versions-watch"

    def __init__(
        self, files: FileFlowProvider, store: FlowVersionStore, checker: FlowChecker, *, poll_seconds: float = 2.0
    ) -> None:
        self._files = files
        self._store = store
        self._checker = checker
        self._poll = poll_seconds
        self._set: FlowSet = files.flow_set
        self._stamp: tuple[int, datetime | None] | None = None
        self._parsed: dict[tuple[str, int], _Parsed] = {}  # published versions already read
        self._reported: set[str] = set()
        self.published_versions: dict[str, int] = {}
        self.problems: list[str] = []  # why some published versions are not in service

    @property
    def flow_set(self) -> FlowSet:
        return self._set

    def current_for(self, dialled: str) -> Flow:
        return self._set.flow_for(dialled)

    def by_name(self, name: str) -> Flow:
        return self._set.by_name(name)

    def has_file(self, name: str) -> bool:
        return name in self._files.flow_set.sources

    def file_flow(self, name: str) -> Flow:
        """The flow of the shipped file (what a rollback to version 0 restores)."""
        return self._files.flow_set.by_name(name)

    def file_document(self, name: str) -> str | None:
        source = self._files.flow_set.sources.get(name)
        if source is None:
            return None
        with open(source, encoding="utf-8") as fh:
            return fh.read()

    def problems_with(self, flow: Flow) -> list[str]:
        """What would be wrong with the flows in service if ``flow`` replaced its namesake: the
        problems the set does not have already (one default flow, numbers unique)."""
        current = self._set.flows()
        trial = [f for f in current if f.name != flow.name] + [flow]
        before = set(flow_set_problems(current, require_default=True))
        return [p for p in flow_set_problems(trial, require_default=True) if p not in before]

    async def refresh(self) -> None:
        stamp = await self._store.published_stamp()
        published = sorted(await self._store.published(), key=lambda v: v.flow_name)
        wanted: dict[str, tuple[Flow, int | None, str]] = {
            f.name: (f, None, self._files.flow_set.sources.get(f.name, "")) for f in self._files.flow_set.flows()}
        problems: list[str] = []
        try:
            for version in published:
                parsed = await self._parse(version)
                if isinstance(parsed, str):
                    # Keep what serves this flow now (an earlier version, or its file).
                    problems.append(f"{version.flow_name}@v{version.version} is not in service: {parsed}")
                    wanted.pop(version.flow_name, None)
                else:
                    wanted[version.flow_name] = (parsed, version.version,
                                                 f"db:{version.flow_name}@v{version.version}")
        except RunnerBusy:
            log.warning("flow checker busy; published flows are read again at the next poll")
            return  # the stamp stays old, so the next poll tries again
        current = {(v.flow_name, v.version) for v in published}
        self._parsed = {key: parsed for key, parsed in self._parsed.items() if key in current}
        self._apply(wanted, problems)
        self._stamp = stamp  # even when something was left out: the next poll only reacts to a change

    def _apply(self, wanted: dict[str, tuple[Flow, int | None, str]], problems: list[str]) -> None:
        """Take each changed flow whose arrival adds no clash to the set; keep the rest as they are."""
        in_service = {f.name: f for f in self._set.flows()}
        sources = dict(self._set.sources)
        versions = dict(self.published_versions)
        for name in sorted(wanted):
            flow, version, source = wanted[name]
            if in_service.get(name) != flow:
                trial = [f for n, f in in_service.items() if n != name] + [flow]
                before = set(flow_set_problems(in_service.values(), require_default=True))
                added = [p for p in flow_set_problems(trial, require_default=True) if p not in before]
                if added:
                    label = f"{name}@v{version}" if version is not None else name
                    problems.append(f"{label} is not in service: {'; '.join(added)}")
                    continue
                in_service[name] = flow
                versions.pop(name, None)
            if version is not None:
                versions[name] = version
            sources[name] = source
        self._set = FlowSet(in_service.values(), sources)
        self.published_versions = {n: v for n, v in versions.items() if n in in_service}
        self.problems = problems
        for problem in problems:
            if problem not in self._reported:
                log.error("published flow left out; the flows in service keep running",
                          extra={"problem": problem})
        self._reported = set(problems)

    async def _parse(self, version: FlowVersion) -> _Parsed:
        """The flow of a published version (read once per version, in a worker), or why not.
        Raises RunnerBusy (not cached: read again at the next poll)."""
        key = (version.flow_name, version.version)
        found = self._parsed.get(key)
        if found is not None:
            return found
        source = f"db:{version.flow_name}@v{version.version}"
        try:
            flow, problems = await self._checker.parse(version.document, source=source)
        except FlowRefused as exc:
            parsed: _Parsed = str(exc)
        else:
            if flow is None:
                parsed = "; ".join(p.message for p in problems) or "not a flow"
            elif flow.name != version.flow_name:
                parsed = f"the document names flow {flow.name!r}, not {version.flow_name!r}"
            else:
                parsed = flow
        self._parsed[key] = parsed
        return parsed

    async def run(self, started: asyncio.Event) -> None:
        """Pick up versions published by other processes (the CLI, another server)."""
        await self.refresh()
        started.set()
        while True:
            await asyncio.sleep(self._poll)
            stamp = await self._store.published_stamp()
            if stamp != self._stamp:
                log.info("published flows changed; reloading")
                await self.refresh()
