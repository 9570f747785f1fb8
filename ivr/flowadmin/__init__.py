"""Flow versions: edit, validate, publish, roll back and diff flows without touching files.

Published versions live in the database and overlay the YAML files under ``dialplan/flows/``; the
engine asks :class:`PublishedFlowProvider` per call, so a publish reaches new calls at once (other
processes pick it up within a couple of seconds).
"""
