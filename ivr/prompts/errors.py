from __future__ import annotations


class PromptError(Exception):
    """Base class of the prompt domain's errors."""


class CatalogueError(PromptError):
    """The catalogue files are invalid (the message names the file, the prompt and the problem)."""


class UnknownPrompt(PromptError, LookupError):
    """No text for this prompt id in this language."""

    def __init__(self, prompt_id: str, lang: str) -> None:
        super().__init__(f"unknown prompt {prompt_id!r} for language {lang!r}")
        self.prompt_id = prompt_id
        self.lang = lang


class ToolMissing(PromptError):
    """An external program needed to render audio (espeak-ng, sox) is not installed."""


class RenderError(PromptError):
    """espeak-ng or sox failed on one prompt."""
