"""Helpers for the flow editor (no state, no writes): the graph and node fields of an unsaved YAML
document, and a structured edit of one node (prompts / next / menu options) that returns new YAML.

The editor keeps the YAML as the source of truth; the form round-trips through here so the browser
needs no YAML parser. A form edit rewrites the document with ``yaml.safe_dump`` (comments are lost;
the page says so). Reading, checking and writing YAML happen in the flow checker's worker processes
under its limits and deadline (:mod:`ivr.flows.checking`), never on the event loop; a document past
a limit comes back as an ordinary problem, so the editor lists it like any other.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from api.security import AdminUser, SupervisorUser
from ivr.flowadmin.service import FlowAdminService, flow_graph
from ivr.flows.errors import FlowRefused, InvalidYaml
from ivr.offload import RunnerBusy

router = APIRouter(prefix="/api/v1/ui/flows", tags=["flow editor"])

MAX_DOCUMENT = 512_000


def _flow_admin(request: Request) -> FlowAdminService:
    service = request.app.state.container.services.get("flow_admin")
    if service is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "flow administration is not wired")
    admin: FlowAdminService = service
    return admin


Admin = Annotated[FlowAdminService, Depends(_flow_admin)]


class DocumentIn(BaseModel):
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT)


class NodeEditIn(BaseModel):
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT)
    node: str = Field(min_length=1, max_length=128)
    prompts: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(default=None, max_length=50)
    next: str | None = Field(default=None, max_length=128)
    options: dict[str, Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(
        default=None, max_length=20, description="menu key -> next node")


def node_fields(data: Any) -> dict[str, dict[str, Any]]:
    """The simple, form-editable fields of each node of a parsed document."""
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, dict):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for node_id, node in nodes.items():
        if not isinstance(node, dict):
            continue
        options = node.get("options")
        out[str(node_id)] = {
            "kind": str(node.get("kind", "")),
            "prompts": [str(p) for p in node.get("prompts", [])] if isinstance(node.get("prompts"), list) else [],
            "next": node.get("next") if isinstance(node.get("next"), str) else None,
            "options": {str(k): str(v.get("next")) for k, v in options.items()
                        if isinstance(v, dict) and isinstance(v.get("next"), str)}
            if isinstance(options, dict) else {},
        }
    return out


def _busy(exc: RunnerBusy) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "2"})


@router.post("/inspect")
async def inspect(body: DocumentIn, _: SupervisorUser, admin: Admin) -> dict[str, Any]:
    """Problems (the CLI's checker), node fields and the graph of an unsaved document. Supervisors
    too: the editor page is open to them (read-only) and draws the flow in service through this."""
    try:
        checked = await admin.inspect(body.document)
    except RunnerBusy as exc:
        raise _busy(exc) from None
    graph: dict[str, list[dict[str, Any]]] = {"nodes": [], "edges": []}
    if checked.flow is not None:
        drawn = flow_graph(checked.flow)
        graph = {"nodes": drawn.nodes, "edges": drawn.edges}
    return {"problems": [{"file": p.file, "node": p.node, "message": p.message} for p in checked.problems],
            "nodes": node_fields(checked.data), "graph": graph}


@router.post("/edit-node")
async def edit_node(body: NodeEditIn, _: AdminUser, admin: Admin) -> dict[str, str]:
    """Apply the form's fields to one node and return the rewritten YAML."""
    try:
        data = await admin.checker.load(body.document)
    except (InvalidYaml, FlowRefused) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except RunnerBusy as exc:
        raise _busy(exc) from None
    nodes = data.get("nodes") if isinstance(data, dict) else None
    node = nodes.get(body.node) if isinstance(nodes, dict) else None
    if not isinstance(node, dict):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no node {body.node!r} in the document")
    if body.prompts is not None:
        node["prompts"] = list(body.prompts)
    if body.next is not None:
        if body.next:
            node["next"] = body.next
        else:
            node.pop("next", None)
    if body.options is not None:
        found = node.get("options")
        options: dict[Any, Any] = found if isinstance(found, dict) else {}
        for key, target in body.options.items():
            existing = options.get(_key(key, options))
            if isinstance(existing, dict):
                existing["next"] = target
            else:
                options[_key(key, options)] = {"next": target}
        node["options"] = options
    try:
        return {"document": await admin.checker.dump(data)}
    except (FlowRefused, RunnerBusy) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None


def _key(key: str, options: dict[Any, Any]) -> Any:
    """Menu keys are written as numbers in YAML (``1:``) — keep the document's own key type."""
    for existing in options:
        if str(existing) == key:
            return existing
    return int(key) if key.isdigit() else key
