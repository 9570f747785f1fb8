"""Editing flows: drafts are validated with the same checker as ``ivr flows check``; only a clean
version can be published; a rollback republishes the version that was live before."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml

from ivr.flowadmin.provider import PublishedFlowProvider
from ivr.flowadmin.store import FlowVersion, FlowVersionStore, VersionNotFound
from ivr.flows.schema import Flow
from ivr.flows.validate import Problem, References, check_text


class FlowInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class NothingToRollBack(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, str]]


class FlowAdminService:
    def __init__(self, store: FlowVersionStore, provider: PublishedFlowProvider, refs: References) -> None:
        self.store = store
        self.provider = provider
        self.refs = refs

    def validate(self, document: str, *, source: str = "draft") -> list[Problem]:
        _, problems = check_text(document, source=source, refs=self.refs)
        return problems

    async def document_in_service(self, name: str) -> tuple[str, int | None]:
        """The YAML in service for a flow, and its DB version (None: from the files)."""
        self.provider.by_name(name)  # raises UnknownFlow
        version = self.provider.published_versions.get(name)
        if version is not None:
            return (await self.store.get(name, version)).document, version
        text = self.provider.file_document(name)
        return text or "", None

    async def save_draft(
        self, name: str, document: str, *, user: str, comment: str = ""
    ) -> tuple[FlowVersion, list[Problem]]:
        problems = self.validate(document, source=f"{name}@draft")
        declared = _declared_name(document)
        if declared is not None and declared != name:
            problems.append(Problem(f"{name}@draft", None, f"the document names flow {declared!r}, not {name!r}"))
        version = await self.store.add(name, document, user=user, comment=comment)
        return version, problems

    async def publish(self, name: str, version: int, *, user: str) -> FlowVersion:
        candidate = await self.store.get(name, version)
        problems = self.validate(candidate.document, source=f"{name}@v{version}")
        if _declared_name(candidate.document) != name:
            problems.append(Problem(f"{name}@v{version}", None, "the document's name does not match the flow"))
        if problems:
            raise FlowInvalid(problems)
        published = await self.store.publish(name, version, user=user)
        await self.provider.refresh()
        return published

    async def rollback(self, name: str, *, user: str) -> FlowVersion:
        previous = await self.store.previous_published(name)
        if previous is None:
            raise NothingToRollBack(f"flow {name!r} has no earlier published version")
        return await self.publish(name, previous.version, user=user)

    async def diff(self, name: str, from_version: int | None, to_version: int) -> str:
        new = await self.store.get(name, to_version)
        if from_version is None:
            old_text, label = await self.document_in_service(name)
            old_label = f"{name}@v{label}" if label is not None else f"{name}@files"
        else:
            old_text = (await self.store.get(name, from_version)).document
            old_label = f"{name}@v{from_version}"
        return "".join(difflib.unified_diff(
            old_text.splitlines(keepends=True), new.document.splitlines(keepends=True),
            fromfile=old_label, tofile=f"{name}@v{to_version}",
        ))

    def graph(self, name: str) -> Graph:
        return flow_graph(self.provider.by_name(name))


def flow_graph(flow: Flow) -> Graph:
    """Nodes and labelled edges, for drawing (the editor and ``/graph``)."""
    nodes: list[dict[str, Any]] = [{"id": nid, "kind": node.kind, "start": nid == flow.start}
                                   for nid, node in flow.nodes.items()]
    edges = [{"from": nid, "to": target, "label": label}
             for nid, node in flow.nodes.items() for label, target in node.successors()]
    return Graph(nodes, edges)


def _declared_name(document: str) -> str | None:
    try:
        data = yaml.safe_load(document)
    except yaml.YAMLError:
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return str(name) if name is not None else None


__all__ = ["FlowAdminService", "FlowInvalid", "Graph", "NothingToRollBack", "VersionNotFound", "flow_graph"]
