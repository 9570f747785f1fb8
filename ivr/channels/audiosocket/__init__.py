"""Asterisk AudioSocket: Puente's TCP server that Asterisk's ``AudioSocket()`` app connects to."""
