"""In-memory registrar: agents that REGISTER are reachable by their address of record."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.channels.sip.errors import OriginateFailed, OriginateReason
from ivr.channels.sip.message import SipRequest, address_uri, header_params, parse_uri

DEFAULT_EXPIRES = 3600
MIN_EXPIRES = 5
MAX_EXPIRES = 7200


@dataclass(frozen=True, slots=True)
class Binding:
    aor_user: str
    contact: str  # the URI to send requests to
    expires_at: float


class Registrar:
    def __init__(self) -> None:
        self._bindings: dict[str, Binding] = {}

    def register(self, request: SipRequest, now: float) -> tuple[int, Binding | None]:
        """Apply a REGISTER; returns (granted expiry seconds, the binding or None if removed)."""
        aor = parse_uri(address_uri(request.headers.get("To") or ""))
        contact_value = request.headers.get("Contact") or ""
        expires = _requested_expiry(request, contact_value)
        if contact_value.strip() == "*" or expires == 0:
            self._bindings.pop(aor.user, None)
            return 0, None
        granted = max(MIN_EXPIRES, min(expires, MAX_EXPIRES))
        binding = Binding(aor.user, address_uri(contact_value), now + granted)
        self._bindings[aor.user] = binding
        return granted, binding

    def lookup(self, user: str, now: float) -> str | None:
        binding = self._bindings.get(user)
        if binding is None:
            return None
        if binding.expires_at <= now:
            del self._bindings[user]
            return None
        return binding.contact

    def bindings(self, now: float) -> list[Binding]:
        return [b for b in self._bindings.values() if b.expires_at > now]


def _requested_expiry(request: SipRequest, contact: str) -> int:
    param = header_params(contact).get("expires")
    text = param if param is not None else request.headers.get("Expires")
    if text is None or not text.strip().isdigit():
        return DEFAULT_EXPIRES
    return int(text.strip())


def resolve_target(registrar: Registrar, ours: tuple[str, int], endpoint: str, now: float) -> str:
    """An agent endpoint to a request URI: a registered AOR's contact, or the URI as given.

    A URI naming this endpoint (our host, our port or none) is an address of record: it resolves
    to its registered contact or fails as unavailable, never to an INVITE sent to ourselves.
    """
    target = endpoint if endpoint.startswith(("sip:", "sips:")) else f"sip:{endpoint}"
    parsed = parse_uri(target)
    is_ours = parsed.host in (ours[0], "localhost", "127.0.0.1") and parsed.port in (None, ours[1])
    contact = registrar.lookup(parsed.user, now) if parsed.user else None
    if contact is not None and (parsed.port is None or is_ours):
        return contact
    if is_ours:
        raise OriginateFailed(OriginateReason.UNAVAILABLE, detail=f"{parsed.user or target} is not registered")
    return target
