"""Asterisk Manager Interface: a supervised panoramisk connection with typed events.

:class:`ivr.ami.client.AmiClient` owns the connection (login, ping, reconnect with capped jittered
backoff, resynchronisation after every (re)connect); :mod:`ivr.ami.events` parses raw messages into
frozen dataclasses in small pure functions.
"""
