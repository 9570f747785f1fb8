"""The SIP flood guard: datagrams past a source's rate are dropped before they are parsed.

Dropped, not answered: a refusal would cost a parse and a send per packet, which is what a flood
must not get from us (Kamailio's pike drops too); a real user agent retransmits with backoff and
gets through once its source is below the rate. Two buckets: one per source socket (address and
port), one per address (every port of it together), so neither one chatty socket nor a spray from
many ports of one host takes the endpoint.
"""

from __future__ import annotations

import ipaddress

from ivr.floodguard import FloodGuard, FloodLimit
from ivr.settings import SipSettings

_TRUST_CACHE = 4096  # addresses whose trust was looked up, remembered (cleared past it)


class SipFloodGuard:
    def __init__(self, settings: SipSettings) -> None:
        self.per_source = FloodGuard(FloodLimit(settings.flood_rate, settings.flood_burst), what="SIP")
        burst = max(settings.flood_burst, int(settings.flood_address_rate * 2))
        self.per_address = FloodGuard(FloodLimit(settings.flood_address_rate, burst), what="SIP")
        self._trusted = tuple(settings.flood_trusted)
        self._trust: dict[str, bool] = {}

    @property
    def refused(self) -> int:
        return self.per_source.refused + self.per_address.refused

    def admit(self, addr: tuple[str, int]) -> bool:
        host = addr[0]
        if self._trusted and self._is_trusted(host):
            return True
        return self.per_source.admit(addr, f"{host}:{addr[1]}") and self.per_address.admit(host)

    def _is_trusted(self, host: str) -> bool:
        known = self._trust.get(host)
        if known is None:
            if len(self._trust) >= _TRUST_CACHE:
                self._trust.clear()
            try:
                ip = ipaddress.ip_address(host.split("%", 1)[0])
            except ValueError:
                known = False
            else:
                known = any(ip.version == net.version and ip in net for net in self._trusted)
            self._trust[host] = known
        return known
