"""What every domain's HTTP routes share, below the domains: the signed-in user and their role
(:mod:`ivr.web.auth`) and the client's address (:mod:`ivr.web.clientip`); what an agent may see
is :func:`ivr.calls.scope.scope_of`. The web layer (``api/``) implements the ports declared here (the user
store, the audit log); the domains' routes depend on these modules, never on ``api``."""
