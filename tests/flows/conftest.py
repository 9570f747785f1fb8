from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ivr.flows.engine import FlowEngine
from ivr.flows.loader import FileFlowProvider
from ivr.flows.lookup import DemoOrderLookup, OrderLookup
from ivr.ports import Disposition, Services
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import PROJECT_ROOT, Settings
from tests.support.fakes import (
    FakeCallbacks,
    FakeDeflection,
    FakeHistory,
    FakeQueues,
    FakeRecorder,
    FakeSchedules,
    fake_services,
)
from tests.support.scripted import Action, ScriptedChannel, scripted_info

FLOWS_DIR = PROJECT_ROOT / "dialplan" / "flows"


@pytest.fixture(scope="session")
def catalogue() -> PromptCatalogue:
    return PromptCatalogue.load(PROJECT_ROOT / "prompts")


@dataclass
class Harness:
    """The shipped support flow with every port faked."""

    catalogue: PromptCatalogue
    services: Services
    schedules: FakeSchedules
    settings: Settings
    lookup: OrderLookup | None  # None: the engine builds its own from the settings

    @property
    def recorder(self) -> FakeRecorder:
        assert isinstance(self.services.recorder, FakeRecorder)
        return self.services.recorder

    @property
    def queues(self) -> FakeQueues:
        assert isinstance(self.services.queues, FakeQueues)
        return self.services.queues

    @property
    def callbacks(self) -> FakeCallbacks:
        assert isinstance(self.services.callbacks, FakeCallbacks)
        return self.services.callbacks

    @property
    def deflection(self) -> FakeDeflection:
        assert isinstance(self.services.deflection, FakeDeflection)
        return self.services.deflection

    @property
    def history(self) -> FakeHistory:
        assert isinstance(self.services.history, FakeHistory)
        return self.services.history

    def engine(self, **kwargs: Any) -> FlowEngine:
        return FlowEngine(FileFlowProvider(FLOWS_DIR), self.services, self.catalogue, self.schedules,
                          settings=self.settings, lookup=self.lookup, **kwargs)

    async def call(self, *script: Action, **channel_kwargs: Any) -> tuple[Disposition, ScriptedChannel]:
        channel = ScriptedChannel(list(script), call_info=channel_kwargs.pop("call_info", scripted_info()),
                                  **channel_kwargs)
        disposition = await self.engine().run(channel)
        return disposition, channel


@pytest.fixture
def harness(catalogue: PromptCatalogue) -> Harness:
    return Harness(
        catalogue=catalogue,
        services=fake_services(),
        schedules=FakeSchedules(),
        settings=Settings(),
        lookup=DemoOrderLookup(),
    )


