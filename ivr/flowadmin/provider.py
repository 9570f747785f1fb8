"""The flows the engine runs: YAML files, overlaid by versions published in the database."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import yaml

from ivr.flowadmin.store import FlowVersionStore
from ivr.flows.loader import FileFlowProvider, FlowError, FlowSet
from ivr.flows.schema import Flow

log = logging.getLogger(__name__)


class PublishedFlowProvider:
    """Implements the engine's ``FlowProvider``. ``refresh()`` rebuilds the overlay from the DB;
    an invalid stored version never replaces a working set (it is logged loudly instead)."""

    name = "flow-versions-watch"

    def __init__(self, files: FileFlowProvider, store: FlowVersionStore, *, poll_seconds: float = 2.0) -> None:
        self._files = files
        self._store = store
        self._poll = poll_seconds
        self._set: FlowSet = files.flow_set
        self._stamp: tuple[int, datetime | None] | None = None
        self.published_versions: dict[str, int] = {}

    @property
    def flow_set(self) -> FlowSet:
        return self._set

    def current_for(self, dialled: str) -> Flow:
        return self._set.flow_for(dialled)

    def by_name(self, name: str) -> Flow:
        return self._set.by_name(name)

    def file_document(self, name: str) -> str | None:
        source = self._files.flow_set.sources.get(name)
        if source is None:
            return None
        with open(source, encoding="utf-8") as fh:
            return fh.read()

    async def refresh(self) -> None:
        published = await self._store.published()
        documents: dict[str, tuple[str, object]] = {}
        for flow in self._files.flow_set.flows():
            text = self.file_document(flow.name)
            if text is not None:
                documents[flow.name] = (self._files.flow_set.sources[flow.name], yaml.safe_load(text))
        versions: dict[str, int] = {}
        for version in published:
            documents[version.flow_name] = (f"db:{version.flow_name}@v{version.version}",
                                            yaml.safe_load(version.document))
            versions[version.flow_name] = version.version
        try:
            new_set = FlowSet.from_documents(documents.values())
        except FlowError:
            log.exception("published flows are invalid; keeping the flows in service")
            return
        self._set = new_set
        self.published_versions = versions
        self._stamp = await self._store.published_stamp()

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
