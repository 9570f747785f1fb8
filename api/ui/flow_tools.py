"""Helpers for the flow editor (no state, no writes): the graph and node fields of an unsaved YAML
document, and a structured edit of one node (prompts / next / menu options) that returns new YAML.

The editor keeps the YAML as the source of truth; the form round-trips through here so the browser
needs no YAML parser. A form edit changes only the node's values, in place: comments, order and
layout are kept (:mod:`ivr.flows.roundtrip`, ruamel.yaml's round-trip mode). Reading, checking
and writing YAML happen in the flow checker's worker processes under its limits and deadline
(:mod:`ivr.flows.checking`), never on the event loop; a document past a limit comes back as an
ordinary problem, so the editor lists it like any other.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, Field

from api.deps import Catalogue, FlowSimulator
from ivr.flowadmin.routes import FlowAdmin
from ivr.flowadmin.service import flow_graph
from ivr.flowadmin.simulate import MAX_INPUTS, SimInput, SimulatorBusy
from ivr.flows.errors import FlowRefused, InvalidYaml
from ivr.flows.roundtrip import NodeEdit, UnknownNode
from ivr.flows.validate import Problem
from ivr.offload import RunnerBusy
from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.errors import PromptError
from ivr.web.auth import AdminUser, SupervisorUser

router = APIRouter(prefix="/api/v1/ui/flows", tags=["flow editor"])

MAX_DOCUMENT = 512_000




class DocumentIn(BaseModel):
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT)


class SimInputIn(BaseModel):
    press: str | None = Field(default=None, min_length=1, max_length=20, pattern=r"^[0-9*#]+$")
    say: str | None = Field(default=None, min_length=1, max_length=200)


class SimulateIn(BaseModel):
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT)
    inputs: list[SimInputIn] = Field(default_factory=list, max_length=MAX_INPUTS)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    at: AwareDatetime | None = Field(default=None, description="the moment the schedules are asked about")


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


def _problem(p: Problem) -> dict[str, str | None]:
    return {"file": p.file, "node": p.node, "message": p.message}


def _busy(exc: RunnerBusy) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "2"})


@router.post("/inspect")
async def inspect(body: DocumentIn, _: SupervisorUser, admin: FlowAdmin) -> dict[str, Any]:
    """Problems (the CLI's checker), warnings (prompt coverage: they never block publishing), node
    fields and the graph of an unsaved document. Supervisors
    too: the editor page is open to them (read-only) and draws the flow in service through this."""
    try:
        checked = await admin.inspect(body.document)
    except RunnerBusy as exc:
        raise _busy(exc) from None
    graph: dict[str, list[dict[str, Any]]] = {"nodes": [], "edges": []}
    if checked.flow is not None:
        drawn = flow_graph(checked.flow)
        graph = {"nodes": drawn.nodes, "edges": drawn.edges}
    return {"problems": [_problem(p) for p in checked.problems], "warnings": [_problem(p) for p in checked.warnings],
            "nodes": node_fields(checked.data), "graph": graph,
            "languages": list(checked.flow.languages) if checked.flow is not None else []}


@router.post("/edit-node")
async def edit_node(body: NodeEditIn, _: AdminUser, admin: FlowAdmin) -> dict[str, str]:
    """Apply the form's fields to one node and return the YAML with only those values changed
    (comments, order and layout kept: :mod:`ivr.flows.roundtrip`)."""
    edit = NodeEdit(node=body.node, prompts=tuple(body.prompts) if body.prompts is not None else None,
                    next=body.next, options=tuple((body.options or {}).items()))
    try:
        return {"document": await admin.checker.edit_node(body.document, edit)}
    except (InvalidYaml, FlowRefused) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except UnknownNode as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except RunnerBusy as exc:
        raise _busy(exc) from None


@router.post("/simulate")
async def simulate(body: SimulateIn, _: SupervisorUser, admin: FlowAdmin,
                   simulator: FlowSimulator) -> dict[str, Any]:
    """Run an unsaved (draft) document with the real engine against a scripted caller who does
    ``inputs`` in turn; the call stops where it next waits for the caller (see
    :mod:`ivr.flowadmin.simulate`). Nothing is published, queued, booked or sent."""
    try:
        checked = await admin.checker.check(body.document, source="simulation")
    except FlowRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except RunnerBusy as exc:
        raise _busy(exc) from None
    if checked.flow is None or checked.problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            {"message": "fix the problems before simulating",
                             "problems": [str(p) for p in checked.problems]})
    inputs = [SimInput(press=i.press, say=i.say) for i in body.inputs]
    try:
        result = await simulator.run(checked.flow, inputs, language=body.language, at=body.at)
    except SimulatorBusy as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "1"}) from None
    waiting = result.waiting
    return {
        "steps": [{"kind": s.kind, "node": s.node, "text": s.text} for s in result.steps],
        "waiting": None if waiting is None else {"node": waiting.node, "keys": waiting.keys, "speech": waiting.speech},
        "disposition": result.disposition, "variables": result.variables, "language": result.language,
    }


# --------------------------------------------------------------------------- prompt playback
PromptKey = Annotated[str, Field(min_length=4, max_length=140, pattern=r"^[a-z]{2}/[a-z0-9][a-z0-9_/-]*$")]


class PromptsIn(BaseModel):
    keys: list[PromptKey] = Field(max_length=100)




def _audio_file(catalogue: PromptCatalogue, key: str) -> Path | None:
    """The prompt's WAV, only for a catalogued prompt and only inside the audio folder."""
    try:
        path = catalogue.path(key)  # UnknownPrompt for anything not in the catalogue
    except PromptError:
        return None
    root = catalogue.audio_dir.resolve()
    resolved = path.resolve()
    return resolved if resolved.is_relative_to(root) and resolved.is_file() else None


@router.post("/prompts")
async def prompts(body: PromptsIn, _: SupervisorUser, catalogue: Catalogue) -> list[dict[str, Any]]:
    """Each prompt key's text (None: not in the catalogue) and whether its recording exists."""
    out: list[dict[str, Any]] = []
    for key in body.keys:
        lang, prompt_id = key.split("/", 1)
        known = catalogue.has(prompt_id, lang)
        audio = await asyncio.to_thread(_audio_file, catalogue, key) if known else None
        out.append({"key": key, "text": catalogue.text(prompt_id, lang) if known else None,
                    "audio": f"/api/v1/ui/flows/prompt-audio?key={key}" if audio is not None else None})
    return out


@router.get("/prompt-audio")
async def prompt_audio(key: Annotated[str, Query(min_length=4, max_length=140,
                                                 pattern=r"^[a-z]{2}/[a-z0-9][a-z0-9_/-]*$")],
                       _: SupervisorUser, catalogue: Catalogue) -> FileResponse:
    """A prompt's rendered WAV (``ivr prompts build``), for playing it in the editor."""
    path = await asyncio.to_thread(_audio_file, catalogue, key)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recording of prompt {key!r}")
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "private, max-age=60"})
