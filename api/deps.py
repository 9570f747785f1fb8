"""Typed FastAPI dependencies of the web layer's own pages (the desk, the wallboard, the editor's tools).

The web layer composes pages from several domains, so its routes may read the whole
:class:`~ivr.composition.Container` that ``api.app.create_app`` keeps on the application; each alias
names what a route receives and the function behind it says which attribute of which handle that is.
A domain's own routes do not come here: they declare placeholders their domain's ``build`` binds
(:mod:`ivr.web.binding`; e.g. ``ivr.acd.routes.Acd``), and users, the audit log and the login gate
have theirs beside the authentication code (``api/security.py``, ``api/auth_routes.py``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ivr.composition import Container
from ivr.flowadmin.simulate import Simulator
from ivr.prompts.catalogue import PromptCatalogue


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container  # set once by api.app.create_app
    return container


def prompt_catalogue(request: Request) -> PromptCatalogue:
    return container_of(request).config.prompts


def flow_simulator(request: Request) -> Simulator:
    return container_of(request).flowadmin.simulator


AppContainer = Annotated[Container, Depends(container_of)]
Catalogue = Annotated[PromptCatalogue, Depends(prompt_catalogue)]
FlowSimulator = Annotated[Simulator, Depends(flow_simulator)]
