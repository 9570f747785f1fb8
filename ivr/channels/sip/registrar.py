"""In-memory registrar: agents that REGISTER (with their digest secret) are reachable by their AOR.

Only an agent with a configured secret can register, and only with a correct digest
(:mod:`ivr.channels.sip.digest`), so the table holds at most ``max_bindings_per_aor`` contacts
for each configured agent, whatever arrives: nothing is kept for a request before it is
authenticated. Bindings expire at their granted Expires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ivr.channels.sip.credentials import AgentSecrets
from ivr.channels.sip.digest import Algorithm, DigestAuthenticator, Verdict
from ivr.channels.sip.errors import OriginateFailed, OriginateReason
from ivr.channels.sip.message import SipParseError, SipRequest, address_uri, header_params, parse_uri
from ivr.settings import SipSettings

log = logging.getLogger("ivr.sip.registrar")

DEFAULT_EXPIRES = 3600
MIN_EXPIRES = 5
MAX_EXPIRES = 7200
_MAX_WARNED = 256
_WARN_WINDOW_SECONDS = 60.0
_WARN_LINES_PER_WINDOW = 10


@dataclass(frozen=True, slots=True)
class Binding:
    aor_user: str
    contact: str  # the URI to send requests to
    expires_at: float

    def seconds_left(self, now: float) -> int:
        """Whole seconds to the binding's end, at least 1 (what a REGISTER's answer lists). Rounded,
        not truncated: ``now + 60 - now`` can be 59.99999999999999 in floating point."""
        return max(1, round(self.expires_at - now))


@dataclass(frozen=True, slots=True)
class RegisterReply:
    """What to answer a REGISTER with."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()


class Registrar:
    """Contacts by address of record (lower-cased user part), at most ``max_per_aor`` each."""

    def __init__(self, max_per_aor: int = 5) -> None:
        self._max_per_aor = max_per_aor
        self._bindings: dict[str, dict[str, Binding]] = {}

    def __len__(self) -> int:
        return sum(len(contacts) for contacts in self._bindings.values())

    @property
    def aors(self) -> int:
        return len(self._bindings)

    def bind(self, user: str, contact: str, expires: int, now: float) -> int:
        """Add or refresh one contact; returns the granted expiry. At the cap, the contact that
        would expire first gives way (a softphone that restarted on a new port must get in)."""
        granted = max(MIN_EXPIRES, min(expires, MAX_EXPIRES))
        contacts = self._bindings.setdefault(user.lower(), {})
        contacts.pop(contact, None)
        while len(contacts) >= self._max_per_aor:
            del contacts[min(contacts.values(), key=lambda b: b.expires_at).contact]
        contacts[contact] = Binding(user.lower(), contact, now + granted)
        return granted

    def unbind(self, user: str, contact: str | None) -> None:
        """Remove one contact, or all of the AOR's (``contact`` None: ``Contact: *``)."""
        key = user.lower()
        contacts = self._bindings.get(key)
        if contacts is None:
            return
        if contact is None:
            contacts.clear()
        else:
            contacts.pop(contact, None)
        if not contacts:
            del self._bindings[key]

    def lookup(self, user: str, now: float) -> str | None:
        """The most recently refreshed live contact of ``user``."""
        live = self.of(user, now)
        return max(live, key=lambda b: b.expires_at).contact if live else None

    def of(self, user: str, now: float) -> list[Binding]:
        return [b for b in self._bindings.get(user.lower(), {}).values() if b.expires_at > now]

    def bindings(self, now: float) -> list[Binding]:
        return [b for contacts in self._bindings.values() for b in contacts.values() if b.expires_at > now]

    def expire(self, now: float) -> None:
        for user, contacts in list(self._bindings.items()):
            for contact, binding in list(contacts.items()):
                if binding.expires_at <= now:
                    del contacts[contact]
            if not contacts:
                del self._bindings[user]


class Registrations:
    """REGISTER handling: authenticate (digest), then bind/unbind. Pure apart from the clock."""

    def __init__(self, settings: SipSettings, secrets: AgentSecrets) -> None:
        self.registrar = Registrar(settings.max_bindings_per_aor)
        self.auth = DigestAuthenticator(
            settings.realm, tuple(Algorithm(a) for a in settings.digest_algorithms), settings.nonce_ttl
        )
        self._secrets = secrets
        self._warned: set[str] = set()  # agents already logged as having no secret (bounded)
        # A REGISTER storm of made-up names would be a log line per packet: a few per minute.
        self._warn_window = (float("-inf"), 0)  # (window start, lines in it)

    @property
    def unconfigured_remembered(self) -> int:
        """Agents without a secret remembered (to log each once): bounded, whatever arrives."""
        return len(self._warned)

    def handle(self, request: SipRequest, now: float) -> RegisterReply:
        try:
            user = parse_uri(address_uri(request.headers.get("To") or "")).user
        except SipParseError:
            return RegisterReply(400, "Bad Request (To is not a SIP URI)")
        if not user:
            return RegisterReply(400, "Bad Request (no user in To)")
        secret = self._secrets.get(user)
        if secret is None:
            self._warn_unconfigured(user, now)
            return RegisterReply(403, "Forbidden (no secret configured for this agent)")
        verdict = self.auth.verify(
            request.headers.get_all("Authorization"),
            user=user,
            password=secret,
            method=request.method,
            uri=request.uri,
            now=now,
        )
        if verdict in (Verdict.MISSING, Verdict.STALE, Verdict.REPLAY):
            challenges = self.auth.challenges(now, stale=verdict is Verdict.STALE)
            return RegisterReply(401, "Unauthorized", tuple(("WWW-Authenticate", c) for c in challenges))
        if verdict is Verdict.WRONG:
            log.warning("REGISTER with wrong credentials refused", extra={"agent": user[:64]})
            return RegisterReply(403, "Forbidden")
        return self._apply(request, user, now)

    def _apply(self, request: SipRequest, user: str, now: float) -> RegisterReply:
        contact_value = request.headers.get("Contact")
        if contact_value is not None:
            expires = _requested_expiry(request, contact_value)
            if contact_value.strip() == "*":
                if expires != 0:
                    return RegisterReply(400, "Bad Request (Contact: * needs Expires: 0)")
                self.registrar.unbind(user, None)
            else:
                contact = address_uri(contact_value)
                try:
                    parse_uri(contact)
                except SipParseError:
                    return RegisterReply(400, "Bad Request (Contact is not a SIP URI)")
                if expires == 0:
                    self.registrar.unbind(user, contact)
                else:
                    self.registrar.bind(user, contact, expires, now)
                    log.info("agent registered", extra={"agent": user[:64]})
        # RFC 3261 §10.3 step 8: the answer lists every current binding (none: none).
        listed = tuple(
            ("Contact", f"<{b.contact}>;expires={b.seconds_left(now)}")
            for b in sorted(self.registrar.of(user, now), key=lambda b: -b.expires_at)
        )
        return RegisterReply(200, "OK", listed)

    def _warn_unconfigured(self, user: str, now: float) -> None:
        key = user.lower()
        if key in self._warned:
            return
        start, lines = self._warn_window
        if now - start >= _WARN_WINDOW_SECONDS:
            start, lines = now, 0
        if lines >= _WARN_LINES_PER_WINDOW:
            return  # not remembered: logged in a later window if it comes back
        self._warn_window = (start, lines + 1)
        if len(self._warned) >= _MAX_WARNED:
            self._warned.clear()
        self._warned.add(key)
        name = "".join(c for c in user[:64] if c.isascii() and (c.isalnum() or c in "._-")) or "<agent>"
        log.warning(
            "REGISTER for %s refused (403): no SIP secret configured for it; set "
            "IVR_SIP__AGENT_SECRETS__%s=<secret> or add '%s: <secret>' to the YAML file named by IVR_SIP__SECRETS_FILE",
            name, name.upper(), name.lower(), extra={"agent": name},
        )


def _requested_expiry(request: SipRequest, contact: str) -> int:
    param = header_params(contact).get("expires")
    text = param if param is not None else request.headers.get("Expires")
    if text is None or not text.strip().isascii() or not text.strip().isdigit() or len(text.strip()) > 10:
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
