"""One AMI client per server, shared by the ACD (device states) and callbacks (Originate).

Callbacks are wired before the ACD, so whichever asks first creates it: ``ami_client(container)``
returns the same client every time, or None when ``settings.ami.enabled`` is false.
"""

from __future__ import annotations

from ivr.ami.client import AmiClient
from ivr.composition import Container


def ami_client(container: Container) -> AmiClient | None:
    if not container.settings.ami.enabled:
        return None
    existing = container.services.get("ami")
    if isinstance(existing, AmiClient):
        return existing
    client = AmiClient(container.settings.ami)
    container.services["ami"] = client
    container.components.append(client)
    return client
