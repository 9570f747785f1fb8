"""Prompt catalogue (id -> text per language), audio rendering, and spoken numbers."""

from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.errors import CatalogueError, UnknownPrompt

__all__ = ["CatalogueError", "PromptCatalogue", "UnknownPrompt"]
