"""The queues' configuration, one live book shared by the ACD and the domains that read it.

The ACD applies admins' edits to it; the callbacks' policies (``extra["callback"]``) and the
post-call rating read it. It is built before all of them, so none of them waits for another to
exist: the composition root hands the same book to each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ivr.acd.config import QueueConfig
from ivr.acd.types import UnknownQueue


class QueueBook:
    def __init__(self, queues: Mapping[str, QueueConfig]) -> None:
        self._queues = dict(queues)

    def queue_config(self, name: str) -> QueueConfig:
        try:
            return self._queues[name]
        except KeyError:
            raise UnknownQueue(name) from None

    def queue_names(self) -> list[str]:
        return sorted(self._queues)

    def configs(self) -> Iterable[QueueConfig]:
        return list(self._queues.values())

    def __contains__(self, name: object) -> bool:
        return name in self._queues

    def put(self, cfg: QueueConfig) -> None:
        self._queues[cfg.name] = cfg
