"""Admin API: the SMS/WhatsApp message templates, and the provider settings in effect.

Provider credentials come from the environment (secrets never live in the database nor leave the
server): this API shows which providers are configured, with secrets masked, and edits the texts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, status
from pydantic import BaseModel, Field

from deflection.templates import InvalidTemplate, Template, TemplateBook, UnknownTemplate
from ivr.settings import DeflectionSettings
from ivr.web.auth import AdminUser, Audit, StaffUser


class TemplateOut(BaseModel):
    language: str
    key: str
    default: str
    text: str
    overridden: bool

    @classmethod
    def of(cls, t: Template) -> TemplateOut:
        return cls(language=t.language, key=t.key, default=t.default, text=t.text, overridden=t.overridden)


class TemplateIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


def _mask(secret: str) -> str:
    return "" if not secret else "***" + secret[-4:] if len(secret) > 8 else "***"


def admin_router(templates: TemplateBook, settings: DeflectionSettings) -> APIRouter:
    router = APIRouter(prefix="/api/v1/deflections", tags=["deflection admin"])

    @router.get("/templates", response_model=list[TemplateOut])
    async def list_templates(_: StaffUser) -> list[TemplateOut]:
        await templates.ensure_loaded()
        return [TemplateOut.of(t) for t in templates.all()]

    @router.put("/templates/{language}/{key}", response_model=TemplateOut)
    async def put_template(language: str, key: str, body: Annotated[TemplateIn, Body()], user: AdminUser,
                           audit: Audit) -> TemplateOut:
        try:
            saved = await templates.set(language, key, body.text, user=user.username)
        except UnknownTemplate as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        except InvalidTemplate as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        await audit.record(user, "deflection.template", f"{language}/{key}", {"text": body.text})
        return TemplateOut.of(saved)

    @router.delete("/templates/{language}/{key}", status_code=204)
    async def reset_template(language: str, key: str, user: AdminUser, audit: Audit) -> None:
        try:
            await templates.reset(language, key)
        except UnknownTemplate as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        await audit.record(user, "deflection.template.reset", f"{language}/{key}")

    @router.get("/providers")
    async def providers(_: AdminUser) -> dict[str, object]:
        s = settings
        return {
            "sms": {"provider": s.provider_sms, "twilio_account_sid": s.twilio_account_sid,
                    "twilio_auth_token": _mask(s.twilio_auth_token), "from": s.twilio_from,
                    "base_url": s.twilio_base_url},
            "whatsapp": {"provider": s.provider_whatsapp, "phone_number_id": s.meta_phone_number_id,
                         "access_token": _mask(s.meta_access_token), "app_secret": _mask(s.meta_app_secret),
                         "template": s.meta_template, "business_number": s.whatsapp_business_number,
                         "base_url": s.meta_base_url},
            "link_ttl_hours": s.link_ttl_hours,
            "note": "credentials are set in the environment (IVR_DEFLECTION__*), never through the API",
        }

    return router
