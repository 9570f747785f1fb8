"""Staff API for one case: its replies, a reply to the customer, closing it.

Agents act only on cases from calls they handled (:mod:`ivr.calls.scope`); supervisors and admins on any.
Replies and closes are audited. A refused reply (opted out, no channel, closed case) is a 409 whose
``detail`` says why in words; a reply held for the customer's quiet hours is a 202 that says until
when; a reply every provider failed is stored and answered 502.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from deflection.cases import CaseRecord, CaseStore
from deflection.replies import MAX_REPLY_CHARS, CaseReplies, ReplyOutcome, ReplyRefused
from deflection.tokens import scrub_tokens
from ivr.calls.scope import scope_of
from ivr.web.auth import Audit, Role, StaffUser, require_roles

STAFF = [Depends(require_roles(Role.SUPERVISOR, Role.AGENT))]


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_REPLY_CHARS)


def case_router(cases: CaseStore, replies: CaseReplies) -> APIRouter:
    router = APIRouter(prefix="/api/v1/deflections/cases", tags=["deflection"], dependencies=STAFF)

    async def visible(case_id: int, user: StaffUser) -> CaseRecord:
        case = await cases.get(case_id, handled_by=scope_of(user).agent_id)
        if case is None:  # for an agent also: not from a call they handled
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id} you can see")
        return case

    async def shown(case: CaseRecord) -> dict[str, Any]:
        found = (await cases.replies([case.id]))[case.id]
        return scrub_tokens({**case.to_dict(), "replies": [r.to_dict() for r in found]})

    @router.get("/{case_id}")
    async def show_case(user: StaffUser, case_id: int = Path(ge=1)) -> dict[str, Any]:
        return await shown(await visible(case_id, user))

    @router.post("/{case_id}/reply", status_code=status.HTTP_201_CREATED,
                 responses={202: {"description": "held until the customer's quiet hours end"},
                            409: {"description": "cannot be sent (the reason is in detail)"},
                            502: {"description": "every provider failed (the reply is kept)"}})
    async def reply(body: ReplyIn, user: StaffUser, audit: Audit, case_id: int = Path(ge=1)) -> Any:
        case = await visible(case_id, user)
        try:
            result = await replies.reply(case, body.text, username=user.username)
        except ReplyRefused as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, f"the reply was not sent: {exc}") from None
        await audit.record(user, "case.reply", str(case_id), {"outcome": result.outcome.value,
                                                              "channel": result.channel.value})
        out = {"outcome": result.outcome.value, "channel": result.channel.value, "reply": result.reply.to_dict(),
               "not_before": result.not_before.isoformat() if result.not_before else None, "error": result.error}
        if result.outcome is ReplyOutcome.FAILED:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY,
                                f"the reply could not be sent ({result.error}); it is kept in the case")
        code = status.HTTP_202_ACCEPTED if result.outcome is ReplyOutcome.DEFERRED else status.HTTP_201_CREATED
        return JSONResponse(out, status_code=code)

    @router.post("/{case_id}/close", responses={409: {"description": "already closed"}})
    async def close(user: StaffUser, audit: Audit, case_id: int = Path(ge=1)) -> dict[str, Any]:
        case = await visible(case_id, user)
        if not await replies.close(case, username=user.username):
            raise HTTPException(status.HTTP_409_CONFLICT, f"case {case_id} is already closed")
        await audit.record(user, "case.close", str(case_id), {})
        again = await cases.get(case_id)
        assert again is not None
        return await shown(again)

    return router
