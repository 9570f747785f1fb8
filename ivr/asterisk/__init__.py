"""Asterisk configuration: read it (``conf``), render Puente's part of it (``render``) and check
that it fits this Puente (``check``, ``live``): the ``ivr asterisk`` commands."""
