"""Callbacks: durable, polite, never doubled (see callbacks/README.md)."""
