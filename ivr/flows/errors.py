"""The errors of loading and checking flows (a small module so the YAML loader and the flow set
can both raise them without importing each other)."""

from __future__ import annotations


class FlowError(Exception):
    """A flow file or set of flows is invalid (the message names the file and the problem)."""


class FlowRefused(FlowError):
    """A document is not even looked at in full: too large, too deep, too many values, YAML
    aliases, or too slow to check. The message is one line, with the YAML line when known."""


class InvalidYaml(FlowError):
    """The text is not well-formed YAML (the message says where)."""
