"""The scripted caller the tests drive. It lives in ``ivr/channels/scripted.py`` because the flow
editor's call simulator (``ivr/flowadmin/simulate.py``) runs the real engine against it too."""

from ivr.channels.scripted import (
    Action,
    AgentAnswers,
    AgentFails,
    HangUp,
    LogEntry,
    Press,
    Say,
    ScriptedBackend,
    ScriptedChannel,
    Silence,
    match_grammar,
    scripted_info,
)

__all__ = ["Action", "AgentAnswers", "AgentFails", "HangUp", "LogEntry", "Press", "Say", "ScriptedBackend",
           "ScriptedChannel", "Silence", "match_grammar", "scripted_info"]
