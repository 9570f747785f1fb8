"""Staff API: links, the outbox, cases (with their response targets), stats, customer history.

Least privilege: agents see only links and cases from calls they handled (:mod:`ivr.calls.scope`); the
outbox is for supervisors and admins. A full ``/c/<token>`` link is a credential: agents never get
one, the outbox masks them unless a supervisor asks for ``full=true`` (audited), and the customer
history masks them for everyone.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from deflection.cases import CaseStatus, CaseStore
from deflection.history import CustomerHistory
from deflection.ratings import RatingStore
from deflection.service import DeflectionService
from deflection.tokens import scrub_tokens
from ivr.calls.scope import scope_of
from ivr.contact import InvalidNumber, to_e164
from ivr.web.auth import Audit, Role, StaffUser, SupervisorUser, require_roles

STAFF = [Depends(require_roles(Role.SUPERVISOR, Role.AGENT))]


def api_router(service: DeflectionService, cases: CaseStore, ratings: RatingStore, history: CustomerHistory,
               region: str) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["deflection"], dependencies=STAFF)

    @router.get("/deflections")
    async def list_links(user: StaffUser, limit: int = Query(50, ge=1, le=500),
                         number: str | None = None) -> list[dict[str, Any]]:
        key = _number(number, region) if number else None
        found = await service.links.list(limit=limit, number=key, handled_by=scope_of(user).agent_id)
        return [link.to_dict(with_context=False) for link in found]

    @router.get("/deflections/stats")
    async def stats() -> dict[str, int]:
        return await service.stats()

    @router.get("/deflections/outbox")
    async def outbox(user: SupervisorUser, audit: Audit, limit: int = Query(50, ge=1, le=500),
                     full: bool = Query(False, description="live links unmasked (audited)")) -> list[dict[str, Any]]:
        found = [m.to_dict() for m in await service.messages.list(provider="outbox", limit=limit)]
        if not full:
            return [scrub_tokens(m) for m in found]
        await audit.record(user, "deflection.outbox.full", "outbox", {"messages": len(found)})
        return found

    @router.get("/deflections/cases")
    async def list_cases(user: StaffUser, status: CaseStatus | None = None,
                         limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
        found = await cases.list(status=status, limit=limit, handled_by=scope_of(user).agent_id)
        return [scrub_tokens(c.to_dict()) for c in found]

    @router.get("/deflections/{link_id}")
    async def show(link_id: str, user: StaffUser) -> dict[str, Any]:
        scope = scope_of(user)
        link = await service.links.get(link_id, handled_by=scope.agent_id)
        if link is None:  # for an agent also: not from a call they handled
            raise HTTPException(404, "no such link")
        rating = await ratings.for_link(link_id)
        shown = {
            **link.to_dict(),
            "messages": [m.to_dict() for m in await service.messages.list(link_id=link_id)],
            "cases": [c.to_dict() for c in await cases.list(link_id=link_id)],
            "rating": rating.to_dict() if rating else None,
        }
        return shown if scope.everything else scrub_tokens(shown)

    @router.get("/customers/{number}/history")
    async def customer_history(number: str, limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
        # live links masked; a plain object in the API's schema
        return dict(await history.for_number(_number(number, region), limit=limit))

    return router


def _number(raw: str, region: str) -> str:
    try:
        return to_e164(raw, region)
    except InvalidNumber as exc:
        raise HTTPException(422, str(exc)) from None
