"""The FastAPI application: every domain's routers, /health, /ready, /metrics, OpenAPI at /docs.

Domains contribute routers through their handles (``container.routers``, gathered by
``ivr.composition``). Admin/agent routes live under the one versioned prefix ``/api/v1``; public pages
(``/c/<token>``) and provider webhooks (``/webhooks/...``) sit outside it.
"""

from __future__ import annotations

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.floodguard import HttpFloodMiddleware
from api.ui.errors import install as install_error_pages
from ivr.composition import Container

API_PREFIX = "/api/v1"


def create_app(container: Container) -> FastAPI:
    app = FastAPI(title="Puente", version="0.1.0", docs_url="/docs", openapi_url="/openapi.json")
    app.state.container = container
    # The core's route dependencies (ivr.web.auth) reach users and the audit log through these ports.
    app.state.token_users = container.web.users
    app.state.audit_trail = container.web.audit
    web = container.web  # the guard is added before the proxy headers' middleware, so it runs inside it (real client)
    app.add_middleware(HttpFloodMiddleware, guard=web.flood, counts=web.flood_counts, login=web.login)
    proxies = [str(net) for net in container.settings.http.trusted_proxies]
    if proxies:  # forwarded headers from these proxies only (ivr.web.clientip)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    for router in container.routers:
        app.include_router(router)
    for binding in container.bindings:  # each domain's routes get the service that domain built
        app.dependency_overrides[binding.placeholder] = binding.provider()
    install_error_pages(app)  # HTML 403/404/500 under /ui, JSON elsewhere
    return app
