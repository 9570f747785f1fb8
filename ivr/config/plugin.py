from __future__ import annotations

import logging

from ivr.composition import Container
from ivr.prompts.catalogue import PromptCatalogue
from ivr.schedules.api import router as schedules_router
from ivr.schedules.model import ScheduleBook
from ivr.schedules.service import ScheduleService

log = logging.getLogger(__name__)


async def wire(container: Container) -> None:
    settings = container.settings
    # dialplan/schedules.yaml sits beside dialplan/flows/; published versions in the DB replace it.
    book = ScheduleBook.load(settings.flows_dir.parent / "schedules.yaml")
    container.services["schedules"] = ScheduleService(book, container.db)
    catalogue = PromptCatalogue.load(settings.prompts_dir)
    missing = catalogue.missing_audio()
    if missing:
        log.warning("prompts without audio: run `ivr prompts build`",
                    extra={"missing": len(missing), "examples": missing[:5]})
    container.services["prompts"] = catalogue
    container.routers.append(schedules_router)
