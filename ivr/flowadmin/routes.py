"""``/api/v1/flows``: list, read, draft, validate, publish, roll back, diff, graph."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from ivr.flowadmin.service import SHIPPED, FlowAdminService, FlowInvalid, NothingToRollBack
from ivr.flowadmin.store import FlowVersion, VersionNotFound
from ivr.flows.errors import FlowRefused
from ivr.flows.loader import UnknownFlow
from ivr.flows.validate import Problem
from ivr.offload import RunnerBusy
from ivr.web.auth import AdminUser, Audit, StaffUser
from ivr.web.binding import unbound

router = APIRouter(prefix="/api/v1/flows", tags=["flows"])


def flow_admin() -> FlowAdminService:
    """The flows' drafts, versions and publishing: bound by :func:`ivr.flowadmin.plugin.build`."""
    unbound("the flow admin service")


FlowAdmin = Annotated[FlowAdminService, Depends(flow_admin)]


# Bounded so an absurd number is a 422, not a database integer overflow (a 500).
MAX_VERSION = 2**31 - 1
VersionNumber = Annotated[int, Path(ge=1, le=MAX_VERSION)]
# Where an earlier version is named (rollback, diff), 0 is the shipped file in dialplan/flows/.
AnyVersion = Annotated[int | None, Query(ge=SHIPPED, le=MAX_VERSION)]


class ProblemOut(BaseModel):
    file: str
    node: str | None
    message: str

    @classmethod
    def of(cls, p: Problem) -> ProblemOut:
        return cls(file=p.file, node=p.node, message=p.message)


class FlowSummary(BaseModel):
    name: str
    numbers: list[str]
    default: bool
    published_version: int | None


class FlowDocument(BaseModel):
    name: str
    document: str
    version: int | None


class VersionOut(BaseModel):
    flow_name: str
    version: int
    status: str
    comment: str
    created_by: str
    created_at: datetime | None
    published_at: datetime | None
    published_by: str | None
    document: str | None = None

    @classmethod
    def of(cls, v: FlowVersion, *, with_document: bool = False) -> VersionOut:
        return cls(flow_name=v.flow_name, version=v.version, status=v.status.value, comment=v.comment,
                   created_by=v.created_by, created_at=v.created_at, published_at=v.published_at,
                   published_by=v.published_by, document=v.document if with_document else None)

    @classmethod
    def shipped(cls, name: str, document: str | None = None) -> VersionOut:
        """Version 0: the flow's file under dialplan/flows/, what a rollback can always return to."""
        return cls(flow_name=name, version=SHIPPED, status="shipped", comment="the shipped file",
                   created_by="", created_at=None, published_at=None, published_by=None, document=document)


class ChangesOut(BaseModel):
    from_label: str
    to_label: str
    summary: str
    nodes_added: list[str]
    nodes_removed: list[str]
    nodes_changed: list[str]
    keys_added: list[str]
    keys_removed: list[str]


# The request bound; the flow limits (settings `flows.max_bytes`, 256 KiB) give the clear message.
MAX_DOCUMENT = 512_000


class DraftIn(BaseModel):
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT)
    comment: str = Field(default="", max_length=255)


class DraftOut(BaseModel):
    version: VersionOut
    problems: list[ProblemOut]  # block publishing
    warnings: list[ProblemOut] = []  # do not (a menu's prompt that does not announce an option)


class ValidateIn(BaseModel):
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT)


class GraphOut(BaseModel):
    nodes: list[dict[str, str | bool]]
    edges: list[dict[str, str]]


def _not_found(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


def _refused(exc: FlowRefused) -> HTTPException:
    """A document past the limits (size, nesting, YAML aliases, too slow to check): 422, one line."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                         {"message": "the flow cannot be checked", "problems": [str(exc)]})


def _busy(exc: RunnerBusy) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "2"})


def _invalid(exc: FlowInvalid, message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, {"message": message, "problems": [str(p) for p in exc.problems]})


@router.get("", response_model=list[FlowSummary])
async def list_flows(_: StaffUser, admin: FlowAdmin) -> list[FlowSummary]:
    versions = admin.provider.published_versions
    return [FlowSummary(name=f.name, numbers=list(f.numbers), default=f.default, published_version=versions.get(f.name))
            for f in admin.provider.flow_set.flows()]


@router.get("/{name}", response_model=FlowDocument)
async def get_flow(name: str, _: StaffUser, admin: FlowAdmin) -> FlowDocument:
    try:
        document, version = await admin.document_in_service(name)
    except (UnknownFlow, VersionNotFound) as exc:
        raise _not_found(exc) from None
    return FlowDocument(name=name, document=document, version=version)


@router.get("/{name}/graph", response_model=GraphOut)
async def flow_graph(name: str, _: StaffUser, admin: FlowAdmin) -> GraphOut:
    try:
        graph = admin.graph(name)
    except UnknownFlow as exc:
        raise _not_found(exc) from None
    return GraphOut(nodes=graph.nodes, edges=graph.edges)


@router.get("/{name}/versions", response_model=list[VersionOut])
async def list_versions(name: str, _: StaffUser, admin: FlowAdmin) -> list[VersionOut]:
    """Newest first; a flow with a shipped file ends with it, as version 0."""
    versions = [VersionOut.of(v) for v in await admin.store.versions(name)]
    if admin.provider.has_file(name):
        versions.append(VersionOut.shipped(name))
    return versions


@router.get("/{name}/versions/{version}", response_model=VersionOut)
async def get_version(name: str, version: Annotated[int, Path(ge=SHIPPED, le=MAX_VERSION)], _: StaffUser,
                      admin: FlowAdmin) -> VersionOut:
    try:
        if version == SHIPPED:
            return VersionOut.shipped(name, await admin.document_of(name, SHIPPED))
        return VersionOut.of(await admin.store.get(name, version), with_document=True)
    except VersionNotFound as exc:
        raise _not_found(exc) from None


# Admins: the role that edits flows (drafts, publish). Validating costs a worker process; agents
# have no use for it. (The editor page, open to supervisors read-only, uses /api/v1/ui/flows/inspect.)
@router.post("/validate", response_model=list[ProblemOut])
async def validate(body: ValidateIn, _: AdminUser, admin: FlowAdmin) -> list[ProblemOut]:
    try:
        return [ProblemOut.of(p) for p in await admin.validate(body.document)]
    except FlowRefused as exc:
        raise _refused(exc) from None
    except RunnerBusy as exc:
        raise _busy(exc) from None


@router.post("/{name}/versions", response_model=DraftOut, status_code=201)
async def save_draft(name: str, body: DraftIn, user: AdminUser, admin: FlowAdmin, audit: Audit) -> DraftOut:
    try:
        version, problems, warnings = await admin.save_draft(name, body.document, user=user.username,
                                                             comment=body.comment)
    except FlowRefused as exc:
        raise _refused(exc) from None
    except RunnerBusy as exc:
        raise _busy(exc) from None
    await audit.record(user, "flow.draft", f"{name}@v{version.version}", {"problems": len(problems)})
    return DraftOut(version=VersionOut.of(version), problems=[ProblemOut.of(p) for p in problems],
                    warnings=[ProblemOut.of(p) for p in warnings])


@router.post("/{name}/versions/{version}/publish", response_model=VersionOut)
async def publish(name: str, version: VersionNumber, user: AdminUser, admin: FlowAdmin, audit: Audit) -> VersionOut:
    try:
        published = await admin.publish(name, version, user=user.username)
    except VersionNotFound as exc:
        raise _not_found(exc) from None
    except FlowInvalid as exc:
        raise _invalid(exc, "the version has problems") from None
    except RunnerBusy as exc:
        raise _busy(exc) from None
    await audit.record(user, "flow.publish", f"{name}@v{version}")
    return VersionOut.of(published)


@router.post("/{name}/rollback", response_model=VersionOut)
async def rollback(name: str, user: AdminUser, admin: FlowAdmin, audit: Audit, to: AnyVersion = None) -> VersionOut:
    """Back to version ``to`` (0: the shipped file), by default the one in service before."""
    try:
        in_service = await admin.rollback(name, user=user.username, to=to)
    except NothingToRollBack as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except VersionNotFound as exc:
        raise _not_found(exc) from None
    except FlowInvalid as exc:
        raise _invalid(exc, "the earlier version cannot be published again") from None
    except RunnerBusy as exc:
        raise _busy(exc) from None
    if in_service == SHIPPED:
        await audit.record(user, "flow.rollback", f"{name}@shipped")
        return VersionOut.shipped(name)
    await audit.record(user, "flow.rollback", f"{name}@v{in_service}")
    return VersionOut.of(await admin.store.get(name, in_service))


FromVersion = Annotated[int | None, Query(alias="from", ge=SHIPPED, le=MAX_VERSION)]


@router.get("/{name}/diff", response_class=PlainTextResponse)
async def diff(name: str, _: StaffUser, admin: FlowAdmin, to: AnyVersion = None, from_: FromVersion = None) -> str:
    """Any two versions (0: the shipped file); by default the newest version against the one in service."""
    try:
        return await admin.diff(name, from_, to)
    except (VersionNotFound, UnknownFlow) as exc:
        raise _not_found(exc) from None
    except FlowRefused as exc:
        raise _refused(exc) from None
    except RunnerBusy as exc:
        raise _busy(exc) from None


@router.get("/{name}/changes", response_model=ChangesOut)
async def changes(name: str, _: StaffUser, admin: FlowAdmin, to: AnyVersion = None,
                  from_: FromVersion = None) -> ChangesOut:
    """What publishing (or rolling back to) ``to`` would change from ``from`` (default: in service),
    in words for a confirmation: "2 nodes changed, key 4 added"."""
    try:
        old_label, new_label, found = await admin.changes(name, from_, to)
    except (VersionNotFound, UnknownFlow) as exc:
        raise _not_found(exc) from None
    except FlowRefused as exc:
        raise _refused(exc) from None
    except RunnerBusy as exc:
        raise _busy(exc) from None
    return ChangesOut(from_label=old_label, to_label=new_label, summary=found.summary,
                      nodes_added=list(found.nodes_added), nodes_removed=list(found.nodes_removed),
                      nodes_changed=list(found.nodes_changed), keys_added=list(found.keys_added),
                      keys_removed=list(found.keys_removed))
