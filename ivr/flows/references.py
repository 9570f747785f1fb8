"""What flows may refer to beyond themselves (prompts, queues, schedules), and the names read from
the dialplan's files for ``ivr flows check``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr.prompts.catalogue import PromptCatalogue


@dataclass(frozen=True)
class References:
    """What flows may refer to. ``None`` skips that family of checks."""

    prompts: PromptCatalogue | None = None
    queues: frozenset[str] | None = None
    schedules: frozenset[str] | None = None


def queue_names(path: Path) -> frozenset[str]:
    """Queue names from ``dialplan/queues.yaml`` (top-level ``queues:`` mapping)."""
    return _top_level_names(path, "queues")


def schedule_names(path: Path) -> frozenset[str]:
    """Schedule names from ``dialplan/schedules.yaml`` (top-level ``schedules:`` mapping)."""
    return _top_level_names(path, "schedules")


def _top_level_names(path: Path, key: str) -> frozenset[str]:
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get(key) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: expected a top-level '{key}' mapping")
    return frozenset(str(k) for k in entries)
