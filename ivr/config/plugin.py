from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter

from ivr.db import Database
from ivr.prompts.catalogue import PromptCatalogue
from ivr.schedules.api import router as schedules_router
from ivr.schedules.api import schedule_service
from ivr.schedules.model import ScheduleBook
from ivr.schedules.service import ScheduleService
from ivr.settings import Settings
from ivr.web.binding import Binding

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ConfigDomain:
    schedules: ScheduleService
    prompts: PromptCatalogue
    routers: tuple[APIRouter, ...] = (schedules_router,)

    @property
    def bindings(self) -> tuple[Binding[object], ...]:
        """What this domain's routes are given (:mod:`ivr.web.binding`)."""
        return (Binding(schedule_service, self.schedules),)


def build(settings: Settings, db: Database) -> ConfigDomain:
    # dialplan/schedules.yaml sits beside dialplan/flows/; published versions in the DB replace it.
    book = ScheduleBook.load(settings.flows_dir.parent / "schedules.yaml")
    catalogue = PromptCatalogue.load(settings.prompts_dir)
    missing = catalogue.missing_audio()
    if missing:
        log.warning("prompts without audio: run `ivr prompts build`",
                    extra={"missing": len(missing), "examples": missing[:5]})
    return ConfigDomain(schedules=ScheduleService(book, db), prompts=catalogue)
