"""Speaking digits, numbers and durations in the call's language (``ivr.prompts.speech_numbers``
has the rules for es and en); values it cannot speak as a number are spoken digit by digit."""

from __future__ import annotations

from ivr.channel import PromptFile
from ivr.prompts import speech_numbers
from ivr.prompts.catalogue import PromptCatalogue


def say_digits(prompts: PromptCatalogue, digits: str, lang: str) -> list[PromptFile]:
    return speech_numbers.say_digits(prompts, digits, lang)


def say_number(prompts: PromptCatalogue, value: str, lang: str) -> list[PromptFile]:
    if value.isdigit() and int(value) <= speech_numbers.MAX_NUMBER:
        return speech_numbers.say_number(prompts, int(value), lang)
    return speech_numbers.say_digits(prompts, value, lang)


def say_duration(prompts: PromptCatalogue, seconds: float, lang: str) -> list[PromptFile]:
    return speech_numbers.say_duration(prompts, seconds, lang)
