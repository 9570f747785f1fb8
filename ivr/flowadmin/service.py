"""Editing flows: drafts are validated with the same checker as ``ivr flows check`` (in a worker
process, under limits and a deadline: see :mod:`ivr.flows.checking`); only a clean version that
keeps the set of flows in service consistent can be published; a rollback republishes the version
that was live before."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ivr.flowadmin.provider import PublishedFlowProvider
from ivr.flowadmin.store import FlowVersion, FlowVersionStore, VersionNotFound
from ivr.flows.changes import Changes
from ivr.flows.checking import Checked, FlowChecker
from ivr.flows.errors import FlowRefused
from ivr.flows.schema import Flow, MenuNode
from ivr.flows.validate import Problem, References


class FlowInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class NothingToRollBack(Exception):
    pass


SHIPPED = 0  # the version number of a flow's shipped file (dialplan/flows/<name>.yaml)


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, str]]


class FlowAdminService:
    """Raises :class:`~ivr.flows.errors.FlowRefused` for a document past the limits (too large, too
    deep, YAML aliases, too slow to check) and :class:`~ivr.offload.RunnerBusy` when too many
    checks are already running."""

    def __init__(self, store: FlowVersionStore, provider: PublishedFlowProvider, checker: FlowChecker) -> None:
        self.store = store
        self.provider = provider
        self.checker = checker
        self._publishing = asyncio.Lock()  # a check and its publish are one step in this process

    @property
    def refs(self) -> References:
        return self.checker.refs

    async def validate(self, document: str, *, source: str = "draft") -> list[Problem]:
        return (await self.checker.check(document, source=source)).problems

    async def inspect(self, document: str, *, source: str = "draft") -> Checked:
        """Problems, flow and parsed value (the editor's form); a limit breach as one problem."""
        try:
            return await self.checker.check(document, source=source)
        except FlowRefused as exc:
            return Checked(None, [Problem(source, None, str(exc))], None)

    async def document_in_service(self, name: str) -> tuple[str, int | None]:
        """The YAML in service for a flow, and its DB version (None: from the files)."""
        self.provider.by_name(name)  # raises UnknownFlow
        version = self.provider.published_versions.get(name)
        if version is not None:
            return (await self.store.get(name, version)).document, version
        text = self.provider.file_document(name)
        return text or "", None

    async def document_of(self, name: str, version: int) -> str:
        """A version's YAML; version 0 is the shipped file (:data:`SHIPPED`)."""
        if version == SHIPPED:
            text = self.provider.file_document(name)
            if text is None:
                raise VersionNotFound(f"flow {name!r} has no shipped file")
            return text
        return (await self.store.get(name, version)).document

    async def save_draft(
        self, name: str, document: str, *, user: str, comment: str = ""
    ) -> tuple[FlowVersion, list[Problem], list[Problem]]:
        """The stored draft, its problems (they block publishing) and its warnings (they do not)."""
        checked = await self.checker.check(document, source=f"{name}@draft")  # FlowRefused: not stored
        problems = list(checked.problems)
        declared = _declared_name(checked.data)
        if declared is not None and declared != name:
            problems.append(Problem(f"{name}@draft", None, f"the document names flow {declared!r}, not {name!r}"))
        version = await self.store.add(name, document, user=user, comment=comment)
        return version, problems, checked.warnings

    async def publish(self, name: str, version: int, *, user: str) -> FlowVersion:
        """Publish after checking the version and the whole set it would serve in (one default
        flow, numbers unique); raises :class:`FlowInvalid` with every problem."""
        candidate = await self.store.get(name, version)
        source = f"{name}@v{version}"
        async with self._publishing:
            try:
                checked = await self.checker.check(candidate.document, source=source)
            except FlowRefused as exc:
                raise FlowInvalid([Problem(source, None, str(exc))]) from None
            problems = list(checked.problems)
            if _declared_name(checked.data) != name:
                problems.append(Problem(source, None, "the document's name does not match the flow"))
            if not problems and checked.flow is not None:
                problems.extend(Problem(source, None, p) for p in self.provider.problems_with(checked.flow))
            if problems:
                raise FlowInvalid(problems)
            published = await self.store.publish(name, version, user=user)
            await self.provider.refresh()
        return published

    async def rollback(self, name: str, *, user: str, to: int | None = None) -> int:
        """Put an earlier version back in service: ``to`` (0: the shipped file), or by default the
        one published before (the shipped file when no other was). Returns the version now in
        service (0: the shipped file)."""
        if to is None:
            previous = await self.store.previous_published(name)
            if previous is not None:
                to = previous.version
            elif self.provider.published_versions.get(name) is not None and self.provider.has_file(name):
                to = SHIPPED
            else:
                raise NothingToRollBack(f"flow {name!r} has no earlier version to roll back to")
        if to != SHIPPED:
            return (await self.publish(name, to, user=user)).version
        if not self.provider.has_file(name):
            raise VersionNotFound(f"flow {name!r} has no shipped file")
        async with self._publishing:
            problems = [Problem(f"{name}@shipped", None, p) for p in self.provider.problems_with(
                self.provider.file_flow(name))]
            if problems:
                raise FlowInvalid(problems)
            await self.store.retire_published(name)
            await self.provider.refresh()
        return SHIPPED

    async def resolve(self, name: str, version: int | None, *, default: str) -> tuple[str, str]:
        """A document and its label for a diff: a version (0: the shipped file), or the
        ``default`` when None: "service" (the version in service) or "latest" (the newest draft,
        else what is in service)."""
        if version is None and default == "latest":
            latest = await self.store.latest(name)
            if latest is not None:
                return latest.document, f"{name}@v{latest.version}"
        if version is None:
            if name not in self.provider.flow_set.names():
                return "", f"{name}@none (a new flow)"
            text, in_service = await self.document_in_service(name)
            return text, f"{name}@v{in_service}" if in_service is not None else f"{name}@shipped"
        label = f"{name}@shipped" if version == SHIPPED else f"{name}@v{version}"
        return await self.document_of(name, version), label

    async def diff(self, name: str, from_version: int | None, to_version: int | None) -> str:
        """Any two versions (0: the shipped file); by default the newest version against the one
        in service."""
        old_text, old_label = await self.resolve(name, from_version, default="service")
        new_text, new_label = await self.resolve(name, to_version, default="latest")
        # difflib can be slow on large, repetitive documents: in a worker, under the deadline.
        return await self.checker.diff(old_text, new_text, old_label, new_label)

    async def changes(self, name: str, from_version: int | None, to_version: int | None) -> tuple[str, str, Changes]:
        """Labels and what changes between two versions (defaults as :meth:`diff`)."""
        old_text, old_label = await self.resolve(name, from_version, default="service")
        new_text, new_label = await self.resolve(name, to_version, default="latest")
        return old_label, new_label, await self.checker.changes(old_text, new_text)

    def graph(self, name: str) -> Graph:
        return flow_graph(self.provider.by_name(name))


def flow_graph(flow: Flow) -> Graph:
    """Nodes and labelled edges, for drawing (the editor and ``/graph``)."""
    nodes: list[dict[str, Any]] = [{"id": nid, "kind": node.kind, "start": nid == flow.start}
                                   for nid, node in flow.nodes.items()]
    edges = [{"from": nid, "to": target, "label": _edge_label(flow, node, label)}
             for nid, node in flow.nodes.items() for label, target in node.successors()]
    return Graph(nodes, edges)


def _edge_label(flow: Flow, node: object, label: str) -> str:
    """A menu option's edge says its key and first word ("1 · billing"); others their branch."""
    if isinstance(node, MenuNode) and label.startswith("option "):
        key = label.removeprefix("option ")
        option = node.options.get(key)
        words = option.say.get(flow.languages[0], []) if option is not None and flow.languages else []
        return f"{key} · {words[0]}" if words else key
    return label


def _declared_name(data: Any) -> str | None:
    name = data.get("name") if isinstance(data, dict) else None
    return str(name) if name is not None else None


__all__ = ["SHIPPED", "FlowAdminService", "FlowInvalid", "Graph", "NothingToRollBack", "VersionNotFound", "flow_graph"]
