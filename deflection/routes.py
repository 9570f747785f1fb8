"""Staff API: links, the outbox, cases (with their response targets), stats, customer history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from api.security import Role, require_roles
from deflection.cases import CaseStatus, CaseStore
from deflection.errors import InvalidNumber
from deflection.history import CustomerHistory
from deflection.numbers import normalise
from deflection.ratings import RatingStore
from deflection.service import DeflectionService

STAFF = [Depends(require_roles(Role.SUPERVISOR, Role.AGENT))]


def api_router(service: DeflectionService, cases: CaseStore, ratings: RatingStore, history: CustomerHistory,
               region: str) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["deflection"], dependencies=STAFF)

    @router.get("/deflections")
    async def list_links(limit: int = Query(50, ge=1, le=500), number: str | None = None) -> list[dict[str, Any]]:
        key = _number(number, region) if number else None
        return [link.to_dict(with_context=False) for link in await service.links.list(limit=limit, number=key)]

    @router.get("/deflections/stats")
    async def stats() -> dict[str, int]:
        return await service.stats()

    @router.get("/deflections/outbox")
    async def outbox(limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
        return [m.to_dict() for m in await service.messages.list(provider="outbox", limit=limit)]

    @router.get("/deflections/cases")
    async def list_cases(status: CaseStatus | None = None,
                         limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
        return [c.to_dict() for c in await cases.list(status=status, limit=limit)]

    @router.get("/deflections/{link_id}")
    async def show(link_id: str) -> dict[str, Any]:
        link = await service.links.get(link_id)
        if link is None:
            raise HTTPException(404, "no such link")
        rating = await ratings.for_link(link_id)
        return {
            **link.to_dict(),
            "messages": [m.to_dict() for m in await service.messages.list(link_id=link_id)],
            "cases": [c.to_dict() for c in await cases.list(link_id=link_id)],
            "rating": rating.to_dict() if rating else None,
        }

    @router.get("/customers/{number}/history")
    async def customer_history(number: str, limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
        return await history.for_number(_number(number, region), limit=limit)

    return router


def _number(raw: str, region: str) -> str:
    try:
        return normalise(raw, region)
    except InvalidNumber:
        raise HTTPException(422, "not a valid phone number") from None
