"""HTTP Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760): MD5 and SHA-256, qop=auth.

Nonces are stateless and bound to this server: ``time | random | HMAC(key, time | random)`` with a
key drawn from :mod:`secrets` when the endpoint starts. Checking one needs no table, so a flood of
unauthenticated requests leaves nothing behind. Only a request with a correct digest leaves state:
its nonce's last nonce-count (bounded), so a captured request cannot be replayed.
Hashing a few short strings costs microseconds: it runs on the loop.
"""

from __future__ import annotations

import base64
import binascii
import collections
import enum
import hashlib
import hmac
import re
import secrets
import struct
from dataclasses import dataclass

_NONCE_RANDOM_BYTES = 16
_MAC_BYTES = 16
_MAX_HEADER_CHARS = 4096
_MAX_PARAMS = 32
_PARAM_RE = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*(?:,|$)')
_NC_RE = re.compile(r"^[0-9a-fA-F]{8}$")


class Algorithm(enum.StrEnum):
    SHA256 = "SHA-256"
    MD5 = "MD5"

    def hash(self, text: str) -> str:
        data = text.encode("utf-8")
        digest = hashlib.sha256(data) if self is Algorithm.SHA256 else hashlib.md5(data, usedforsecurity=False)
        return digest.hexdigest()


class Verdict(enum.Enum):
    OK = "ok"
    MISSING = "missing"  # no usable Authorization for us: challenge (401)
    STALE = "stale"  # right digest, expired nonce: challenge again with stale=true (401)
    REPLAY = "replay"  # a nonce-count already used: challenge again (401), change nothing
    WRONG = "wrong"  # wrong user, password or digest: 403


@dataclass(frozen=True, slots=True)
class Credentials:
    """The digest parameters of one Authorization header."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str
    qop: str
    nc: str
    cnonce: str


class NonceState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    FOREIGN = "foreign"  # not ours (another server, a restart, or forged)


class Nonces:
    """Issues and checks time-limited nonces signed with this server's key."""

    def __init__(self, ttl: float, key: bytes | None = None) -> None:
        self._ttl = ttl
        self._key = key or secrets.token_bytes(32)

    def issue(self, now: float) -> str:
        stamp = struct.pack(">Q", int(now * 1000) & 0xFFFFFFFFFFFFFFFF)
        body = stamp + secrets.token_bytes(_NONCE_RANDOM_BYTES)
        return base64.urlsafe_b64encode(body + self._mac(body)).decode("ascii")

    def check(self, nonce: str, now: float) -> NonceState:
        if len(nonce) > 128:
            return NonceState.FOREIGN
        try:
            raw = base64.urlsafe_b64decode(nonce.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            return NonceState.FOREIGN
        if len(raw) != 8 + _NONCE_RANDOM_BYTES + _MAC_BYTES:
            return NonceState.FOREIGN
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(body)):
            return NonceState.FOREIGN
        issued = struct.unpack(">Q", body[:8])[0] / 1000
        return NonceState.VALID if 0 <= now - issued <= self._ttl else NonceState.EXPIRED

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]


def parse_authorization(value: str) -> Credentials | None:
    """``Digest username="a", ...`` -> :class:`Credentials`; None when it is not a usable digest."""
    if len(value) > _MAX_HEADER_CHARS:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest) and len(params) < _MAX_PARAMS:
        match = _PARAM_RE.match(rest, position)
        if match is None:
            return None
        name = match.group(1).lower()
        quoted, token = match.group(2), match.group(3)
        params[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else token
        position = match.end()
    required = ("username", "realm", "nonce", "uri", "response")
    if any(name not in params for name in required):
        return None
    return Credentials(
        username=params["username"],
        realm=params["realm"],
        nonce=params["nonce"],
        uri=params["uri"],
        response=params["response"].lower(),
        algorithm=params.get("algorithm", "MD5"),
        qop=params.get("qop", ""),
        nc=params.get("nc", ""),
        cnonce=params.get("cnonce", ""),
    )


def expected_response(
    algorithm: Algorithm, credentials: Credentials, *, password: str, method: str
) -> str:
    """RFC 7616 §3.4.1 with qop=auth: H(H(A1):nonce:nc:cnonce:qop:H(A2))."""
    ha1 = algorithm.hash(f"{credentials.username}:{credentials.realm}:{password}")
    ha2 = algorithm.hash(f"{method}:{credentials.uri}")
    return algorithm.hash(f"{ha1}:{credentials.nonce}:{credentials.nc}:{credentials.cnonce}:auth:{ha2}")


class DigestAuthenticator:
    """Challenges and verifies REGISTERs for one realm."""

    def __init__(
        self,
        realm: str,
        algorithms: tuple[Algorithm, ...],
        nonce_ttl: float,
        *,
        max_tracked_nonces: int = 4096,
        key: bytes | None = None,
    ) -> None:
        self.realm = realm
        self.algorithms = algorithms
        self.nonces = Nonces(nonce_ttl, key)
        # nonce -> last nonce-count seen with a correct digest; bounded, oldest forgotten first
        # (a forgotten nonce expires within nonce_ttl anyway).
        self._counts: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._max_tracked = max_tracked_nonces

    @property
    def tracked_nonces(self) -> int:
        return len(self._counts)

    def challenges(self, now: float, *, stale: bool = False) -> list[str]:
        """One WWW-Authenticate value per algorithm, in order of preference, sharing one nonce."""
        nonce = self.nonces.issue(now)
        tail = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", nonce="{nonce}", algorithm={algorithm.value}, qop="auth"{tail}'
            for algorithm in self.algorithms
        ]

    def verify(
        self, authorizations: list[str], *, user: str, password: str, method: str, uri: str, now: float
    ) -> Verdict:
        """The verdict on a request for ``user`` (the address of record) with these headers."""
        offered = [
            (c, algorithm)
            for c in map(parse_authorization, authorizations[:4])
            if c is not None and c.realm == self.realm and (algorithm := self._algorithm(c.algorithm)) is not None
        ]
        if not offered:
            return Verdict.MISSING
        credentials, algorithm = offered[0]
        if credentials.qop.lower() != "auth" or not _NC_RE.match(credentials.nc):
            return Verdict.MISSING  # not something we offered: challenge with what we take
        if not credentials.cnonce or credentials.username.lower() != user.lower() or credentials.uri != uri:
            return Verdict.WRONG
        state = self.nonces.check(credentials.nonce, now)
        if state is NonceState.FOREIGN:
            return Verdict.MISSING
        expected = expected_response(algorithm, credentials, password=password, method=method)
        if not hmac.compare_digest(expected.encode("ascii"), credentials.response.encode("ascii", "replace")):
            return Verdict.WRONG
        if state is NonceState.EXPIRED:
            return Verdict.STALE
        return self._count(credentials.nonce, int(credentials.nc, 16))

    def _algorithm(self, name: str) -> Algorithm | None:
        for algorithm in self.algorithms:
            if algorithm.value.lower() == name.lower():
                return algorithm
        return None

    def _count(self, nonce: str, nc: int) -> Verdict:
        last = self._counts.get(nonce)
        if last is not None and nc <= last:
            return Verdict.REPLAY
        self._counts[nonce] = nc
        self._counts.move_to_end(nonce)
        while len(self._counts) > self._max_tracked:
            self._counts.popitem(last=False)
        return Verdict.OK
