"""Base classes of the flow file format (see :mod:`ivr.flows.schema`)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

DIGITS = frozenset("0123456789*#")
AGENT_DIGIT = "0"
AGENT_KEY = "agent"
# Words that always reach a human, added to every menu grammar that has an ``agent`` route.
AGENT_WORDS: dict[str, tuple[str, ...]] = {
    "es": ("asesor", "agente", "operador", "una persona"),
    "en": ("agent", "operator", "representative", "a person"),
}
NODE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
LANGUAGE_CODE_RE = re.compile(r"^[a-z]{2,3}$")
MAX_LABEL_CHARS = 80


def _checked_labels(value: dict[str, str]) -> dict[str, str]:
    """``{language: text}``: what agents read for a step or an option, in their own language."""
    out = {}
    for language, text in value.items():
        if not LANGUAGE_CODE_RE.match(language):
            raise ValueError(f"label language {language!r} is not a language code (es, en, ...)")
        clean = " ".join(text.split())
        if not clean:
            raise ValueError(f"label {language}: the text is empty")
        if len(clean) > MAX_LABEL_CHARS:
            raise ValueError(f"label {language}: at most {MAX_LABEL_CHARS} characters (it has {len(clean)})")
        out[language] = clean
    return out


# Language -> the name agents read on the desk (one line, at most MAX_LABEL_CHARS).
Labels = Annotated[dict[str, str], AfterValidator(_checked_labels)]


class FlowModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose derived values (cached properties such as a menu's phrases) are built again
        from its own fields: pydantic copies them with the fields, stale after an ``update``."""
        copied = super().model_copy(update=update, deep=deep)
        for name in _cached_properties(type(self)):
            copied.__dict__.pop(name, None)
        return copied


def _cached_properties(cls: type) -> Iterator[str]:
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if isinstance(value, cached_property):
                yield name


class NodeBase(FlowModel):
    description: str = ""
    label: Labels = Field(default_factory=dict)  # the step's name on the agent desk, per language: {es: ..., en: ...}

    def successors(self) -> Iterator[tuple[str, str]]:
        """(role, node id) for every node this one may continue to."""
        return iter(())

    def prompt_ids(self) -> Iterator[str]:
        return iter(())

    @property
    def collects_input(self) -> bool:
        """Whether passing through this node waits for the caller (breaks input-free loops)."""
        return False

    @property
    def terminal(self) -> bool:
        return False


def edges(**roles: str | None) -> Iterator[tuple[str, str]]:
    for role, target in roles.items():
        if target:
            yield role, target
