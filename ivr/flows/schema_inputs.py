"""Node kinds that ask the caller something: menu, collect, language, returning caller."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ivr.flows.schema_base import AGENT_KEY, AGENT_WORDS, FlowModel, Labels, NodeBase, edges


def normalise(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def agent_words(lang: str) -> set[str]:
    """The words that reach a human in this language: its own only (a Spanish word in an English grammar
    is not in the English model's dictionary, and would only be a chance for a false match)."""
    return {normalise(w) for w in AGENT_WORDS.get(lang.split("-", 1)[0].lower(), ("agent",))}


class MenuOption(FlowModel):
    next: str
    say: dict[str, list[str]] = Field(default_factory=dict)  # language -> phrases (synonyms)
    confirm: str | None = None  # prompt naming this option, played before a speech confirmation
    label: Labels = Field(default_factory=dict)  # the option's name on the agent desk, per language


class HumanRoute(FlowModel):
    opt_out: str = Field(min_length=3)  # why this menu has no route to a human


class MenuNode(NodeBase):
    kind: Literal["menu"]
    prompts: list[str] = Field(min_length=1)
    options: dict[str, MenuOption] = Field(default_factory=dict)  # digit -> option
    agent: str | None = None  # the route to a human: digit 0 and the words agent/asesor
    human_route: HumanRoute | None = None
    no_input: list[str] = Field(default_factory=list)  # reprompts (default: the prompts again)
    no_match: list[str] = Field(default_factory=list)
    max_tries: int = Field(default=2, ge=1, le=10)
    fallback: str
    timeout: float = Field(default=5.0, gt=0, le=60)
    speech: bool = True

    @field_validator("options", mode="before")
    @classmethod
    def _digit_keys(cls, value: object) -> object:
        # YAML reads `1:` as an int; digits are characters.
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        return value

    def successors(self) -> Iterator[tuple[str, str]]:
        for digit, option in self.options.items():
            yield f"option {digit}", option.next
        yield from edges(agent=self.agent, fallback=self.fallback)

    def prompt_ids(self) -> Iterator[str]:
        yield from self.prompts
        yield from self.no_input
        yield from self.no_match
        for option in self.options.values():
            if option.confirm:
                yield option.confirm

    def phrases(self, lang: str) -> dict[str, str]:
        """Every accepted phrase in one language -> option key (digit, or ``agent``). Built once per
        language (the node is immutable and every menu turn of every call asks); callers must not
        change the returned dict."""
        found = self.phrase_memo.get(lang)
        if found is None:
            found = self.phrase_memo[lang] = self._phrases(lang)
        return found

    @cached_property
    def phrase_memo(self) -> dict[str, dict[str, str]]:
        return {}

    def _phrases(self, lang: str) -> dict[str, str]:
        phrases: dict[str, str] = {}
        for digit, option in self.options.items():
            for phrase in option.say.get(lang, ()):
                phrases[normalise(phrase)] = digit
        if self.agent:
            for word in agent_words(lang):
                phrases.setdefault(word, AGENT_KEY)
        return phrases

    @property
    def collects_input(self) -> bool:
        return True


class CollectNode(NodeBase):
    kind: Literal["collect"]
    prompts: list[str] = Field(min_length=1)
    variable: str
    min_length: int = Field(default=1, ge=1)
    max_length: int = Field(default=20, ge=1, le=64)
    terminator: str = "#"
    pattern: str | None = None
    invalid: list[str] = Field(default_factory=list)  # reprompt after a wrong entry
    no_input: list[str] = Field(default_factory=list)
    max_tries: int = Field(default=3, ge=1, le=10)
    timeout: float = Field(default=6.0, gt=0, le=60)
    inter_digit_timeout: float = Field(default=3.0, gt=0, le=30)
    next: str
    fallback: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern does not compile: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _lengths(self) -> CollectNode:
        if self.min_length > self.max_length:
            raise ValueError("min_length is greater than max_length")
        return self

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(next=self.next, fallback=self.fallback)

    def prompt_ids(self) -> Iterator[str]:
        yield from self.prompts
        yield from self.invalid
        yield from self.no_input

    @property
    def collects_input(self) -> bool:
        return True


class LanguageOption(FlowModel):
    language: str
    prompt: str | None = None  # played in this option's own language ("For English, press 1")
    say: list[str] = Field(default_factory=list)
    label: Labels = Field(default_factory=dict)  # the option's name on the agent desk, per language


class LanguageNode(NodeBase):
    kind: Literal["language"]
    value: str | None = None  # set directly, no question
    prompts: list[str] = Field(default_factory=list)  # played in the default language
    options: dict[str, LanguageOption] = Field(default_factory=dict)
    default: str | None = None  # on timeout / invalid input (default: the flow's first language)
    max_tries: int = Field(default=1, ge=1, le=5)
    timeout: float = Field(default=4.0, gt=0, le=30)
    next: str

    @field_validator("options", mode="before")
    @classmethod
    def _digit_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _value_or_options(self) -> LanguageNode:
        if (self.value is None) == (not self.options):
            raise ValueError("a language node needs either value or options")
        return self

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(next=self.next)

    def prompt_ids(self) -> Iterator[str]:
        yield from self.prompts
        for option in self.options.values():
            if option.prompt:
                yield option.prompt

    @cached_property
    def phrases(self) -> dict[str, str]:
        """Every option's words in one map -> option digit: the caller's language is not known yet.
        Built once (every call's first turn asks); callers must not change it."""
        return {normalise(p): digit for digit, option in self.options.items() for p in option.say}

    @property
    def collects_input(self) -> bool:
        return bool(self.options)


class ReturningCallerNode(NodeBase):
    kind: Literal["returning_caller"]
    window_minutes: float | None = Field(default=None, gt=0)  # default: settings
    prompts: list[str] = Field(min_length=1)  # "you called earlier: press 1 to go back in line"
    # (not "yes"/"no": YAML reads those keys as booleans)
    accepted: str  # back to the queue: sets the returning_queue / returning_waited variables
    declined: str
    not_returning: str
    timeout: float = Field(default=5.0, gt=0, le=30)

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(accepted=self.accepted, declined=self.declined, not_returning=self.not_returning)

    def prompt_ids(self) -> Iterator[str]:
        return iter(self.prompts)
