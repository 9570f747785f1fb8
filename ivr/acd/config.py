"""Queue and agent configuration: ``dialplan/queues.yaml`` and ``dialplan/agents.yaml``, typed.

Parsing is strict (unknown keys are errors) except for the ``callback:`` and ``deflection:``
sub-mappings, which belong to those domains and are kept as raw dicts in :attr:`QueueConfig.extra`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ivr.acd.thresholds import parse_thresholds
from ivr.acd.types import AcdError


class ConfigError(AcdError):
    pass


class OverflowKind(enum.StrEnum):
    QUEUE = "queue"  # move to another queue, keeping the arrival time
    CALLBACK = "callback"  # schedule a callback and end the call
    FLOW = "flow"  # return to the flow's overflow node


@dataclass(frozen=True, slots=True)
class Overflow:
    kind: OverflowKind
    target: str | None = None  # the queue for QUEUE

    @classmethod
    def parse(cls, text: str) -> Overflow:
        kind, _, target = text.partition(":")
        try:
            parsed = OverflowKind(kind.strip())
        except ValueError as exc:
            raise ConfigError(f"overflow {text!r}: expected queue:<name>, callback or flow") from exc
        if parsed is OverflowKind.QUEUE and not target.strip():
            raise ConfigError(f"overflow {text!r}: queue:<name> needs a queue name")
        return cls(parsed, target.strip() or None)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.target}" if self.target else self.kind.value


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    """``percent`` of calls answered within ``seconds``. As contact centres count it: answered within
    the target ÷ (answered + abandoned after ``short_abandon_seconds``); callers who hang up sooner
    (misdials, changed minds) are left out and counted apart."""

    percent: float = 80.0
    seconds: float = 20.0
    short_abandon_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class Announcements:
    first_after: float = 0.0  # seconds after joining (0: at once)
    every: float = 60.0  # then every N seconds (0: never again)
    position: bool = True
    wait: bool = True


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    skills: dict[str, int] = field(default_factory=dict)  # skill -> minimum level
    service_level: ServiceLevel = field(default_factory=ServiceLevel)
    max_wait_seconds: float = 900.0
    overflow: Overflow = field(default_factory=lambda: Overflow(OverflowKind.FLOW))
    announcements: Announcements = field(default_factory=Announcements)
    offer_callback_ewt_above: float | None = 120.0  # None: never offer key 1
    offer_link_ewt_above: float | None = 60.0  # None: never offer key 2
    wrap_up_seconds: float = 10.0
    # the EWT's prior before (and blended with) what history teaches: talk + wrap-up, and patience
    expected_handle_seconds: float = 180.0
    expected_patience_seconds: float | None = None
    ring_timeout: float = 15.0
    music_class: str = "default"
    priority: int = 0
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # "callback", "deflection"

    def to_dict(self) -> dict[str, Any]:
        return {
            "skills": dict(self.skills),
            "service_level": {"percent": self.service_level.percent, "seconds": self.service_level.seconds,
                              "short_abandon_seconds": self.service_level.short_abandon_seconds},
            "max_wait_seconds": self.max_wait_seconds,
            "overflow": str(self.overflow),
            "announcements": {
                "first_after": self.announcements.first_after,
                "every": self.announcements.every,
                "position": self.announcements.position,
                "wait": self.announcements.wait,
            },
            "offer_callback_ewt_above": self.offer_callback_ewt_above,
            "offer_link_ewt_above": self.offer_link_ewt_above,
            "wrap_up_seconds": self.wrap_up_seconds,
            "expected_handle_seconds": self.expected_handle_seconds,
            "expected_patience_seconds": self.expected_patience_seconds,
            "ring_timeout": self.ring_timeout,
            "music_class": self.music_class,
            "priority": self.priority,
            **{k: dict(v) for k, v in self.extra.items()},
        }


@dataclass(frozen=True, slots=True)
class AgentConfig:
    agent_id: str
    name: str
    endpoint: str  # PJSIP/1001 (Asterisk) or sip:agent1@127.0.0.1:5080 (built-in endpoint)
    skills: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "endpoint": self.endpoint, "skills": dict(self.skills)}


_QUEUE_KEYS = {
    "skills", "service_level", "max_wait_seconds", "overflow", "announcements", "offer_callback_ewt_above",
    "offer_link_ewt_above", "wrap_up_seconds", "expected_handle_seconds", "expected_patience_seconds",
    "ring_timeout", "music_class", "priority",
}
EXTRA_SECTIONS = ("callback", "deflection", "wallboard")  # wallboard: ivr.acd.thresholds


def _skills(raw: Any, where: str) -> dict[str, int]:
    if raw is None:
        return {}
    if isinstance(raw, list):  # a bare list means "level 1 or more"
        return {str(s): 1 for s in raw}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: skills must be a list or a mapping skill -> level")
    out: dict[str, int] = {}
    for skill, level in raw.items():
        if not isinstance(level, int) or level < 0:
            raise ConfigError(f"{where}: skill {skill!r} needs a level >= 0, got {level!r}")
        out[str(skill)] = level
    return out


def _optional_seconds(raw: dict[str, Any], key: str, default: float | None) -> float | None:
    if key not in raw:
        return default
    value = raw[key]
    return None if value is None else float(value)


def _positive(raw: dict[str, Any], key: str, default: float) -> float:
    try:
        value = float(raw.get(key, default))
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number of seconds, got {raw.get(key)!r}") from None
    if not value > 0:
        raise ValueError(f"{key} must be more than 0 seconds, got {value!r}")
    return value


def parse_queue(name: str, raw: dict[str, Any] | None) -> QueueConfig:
    raw = dict(raw or {})
    unknown = set(raw) - _QUEUE_KEYS - set(EXTRA_SECTIONS)
    if unknown:
        raise ConfigError(f"queue {name}: unknown keys {sorted(unknown)}")
    sl = raw.get("service_level") or {}
    ann = raw.get("announcements") or {}
    default = QueueConfig(name=name)
    extra = {}
    for section in EXTRA_SECTIONS:
        value = raw.get(section)
        if value is not None and not isinstance(value, dict):
            raise ConfigError(f"queue {name}: {section} must be a mapping")
        if value is not None:
            extra[section] = dict(value)
    try:
        cfg = QueueConfig(
            name=name,
            skills=_skills(raw.get("skills"), f"queue {name}"),
            service_level=ServiceLevel(float(sl.get("percent", 80)), float(sl.get("seconds", 20)),
                                       float(sl.get("short_abandon_seconds", 5))),
            max_wait_seconds=float(raw.get("max_wait_seconds", default.max_wait_seconds)),
            overflow=Overflow.parse(str(raw.get("overflow", "flow"))),
            announcements=Announcements(
                first_after=float(ann.get("first_after", 0)),
                every=float(ann.get("every", 60)),
                position=bool(ann.get("position", True)),
                wait=bool(ann.get("wait", True)),
            ),
            offer_callback_ewt_above=_optional_seconds(raw, "offer_callback_ewt_above", 120.0),
            offer_link_ewt_above=_optional_seconds(raw, "offer_link_ewt_above", 60.0),
            wrap_up_seconds=float(raw.get("wrap_up_seconds", default.wrap_up_seconds)),
            expected_handle_seconds=_positive(raw, "expected_handle_seconds", default.expected_handle_seconds),
            expected_patience_seconds=_optional_seconds(raw, "expected_patience_seconds", None),
            ring_timeout=float(raw.get("ring_timeout", default.ring_timeout)),
            music_class=str(raw.get("music_class", default.music_class)),
            priority=int(raw.get("priority", 0)),
            extra=extra,
        )
        parse_thresholds(extra.get("wallboard"), sl_percent=cfg.service_level.percent,
                         sl_seconds=cfg.service_level.seconds)
        return cfg
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"queue {name}: {exc}") from exc


def parse_agent(agent_id: str, raw: dict[str, Any] | None) -> AgentConfig:
    raw = dict(raw or {})
    unknown = set(raw) - {"name", "endpoint", "skills"}
    if unknown:
        raise ConfigError(f"agent {agent_id}: unknown keys {sorted(unknown)}")
    endpoint = raw.get("endpoint")
    if not endpoint or not isinstance(endpoint, str):
        raise ConfigError(f"agent {agent_id}: endpoint is required (PJSIP/1001 or sip:user@host:port)")
    return AgentConfig(
        agent_id=agent_id,
        name=str(raw.get("name", agent_id)),
        endpoint=endpoint,
        skills=_skills(raw.get("skills"), f"agent {agent_id}"),
    )


def _load_mapping(path: Path, top: str) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get(top) or {}, dict):
        raise ConfigError(f"{path}: expected a top-level {top}: mapping")
    section: dict[str, Any] = data.get(top) or {}
    return section


def load_queues(path: Path) -> dict[str, QueueConfig]:
    queues = {str(name): parse_queue(str(name), raw) for name, raw in _load_mapping(path, "queues").items()}
    for q in queues.values():
        if q.overflow.kind is OverflowKind.QUEUE and q.overflow.target not in queues:
            raise ConfigError(f"queue {q.name}: overflow to unknown queue {q.overflow.target!r}")
    return queues


def load_agents(path: Path) -> dict[str, AgentConfig]:
    if not path.exists():
        return {}
    return {str(aid): parse_agent(str(aid), raw) for aid, raw in _load_mapping(path, "agents").items()}


def with_overrides(queues: dict[str, QueueConfig], overrides: dict[str, dict[str, Any]],
                   source: Path) -> dict[str, QueueConfig]:
    """``queues.yaml`` with per-queue changes from the settings (``IVR_QUEUES__<NAME>__<FIELD>``), so
    one run can differ from the file (a demo with a low callback threshold) without editing it."""
    out = dict(queues)
    for name, patch in overrides.items():
        if name not in queues:
            raise ConfigError(f"IVR_QUEUES__{name.upper()}: no queue {name!r} in {source} "
                              f"(queues: {', '.join(sorted(queues))})")
        out[name] = parse_queue(name, _merge(queues[name].to_dict(), _typed(patch)))
    return out


def _typed(value: Any) -> Any:
    """Environment values arrive as text: read them as YAML scalars ("0" -> 0, "null" -> None)."""
    if isinstance(value, dict):
        return {str(k): _typed(v) for k, v in value.items()}
    if isinstance(value, str):
        return yaml.safe_load(value) if value.strip() else None
    return value


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
