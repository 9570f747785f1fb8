"""FastAGI commands as written on the wire: quoting, encoding, the builders the channel uses, and
the label of the long-running ones (timed apart in the metrics)."""

from __future__ import annotations

ALL_DIGITS = "0123456789*#"

# Commands that last as long as their media or the caller (prompts, key waits, the bridge, the
# AudioSocket session): timed apart, so the quick commands' round trip is not drowned in them.
_LONG_VERBS = ("STREAM FILE", "CONTROL STREAM FILE", "WAIT FOR DIGIT", "GET DATA", "GET OPTION",
               "RECORD FILE", "SAY ", "SPEECH RECOGNIZE", "RECEIVE CHAR", "RECEIVE TEXT")
_LONG_HEADS = frozenset({verb[:4] for verb in _LONG_VERBS} | {"EXEC"})
_LONG_EXEC_APPS = frozenset({"dial", "audiosocket", "playback", "background", "queue", "wait", "read",
                             "record", "musiconhold", "waitexten"})


def long_command_kind(command: str) -> str | None:
    """The label of a long-running command (``wait_for_digit``, ``exec_dial``...), None for a quick
    one. The label set is fixed (an unknown EXEC application is ``exec_other``): metrics stay small."""
    if command[:4].upper() not in _LONG_HEADS:
        return None  # the usual case, one set lookup (this runs for every command)
    upper = command[:24].upper()
    for verb in _LONG_VERBS:
        if upper.startswith(verb):
            return verb.strip().lower().replace(" ", "_")
    if upper.startswith("EXEC "):
        app = command[5:].lstrip().split(" ", 1)[0].lower()
        return f"exec_{app}" if app in _LONG_EXEC_APPS else "exec_other"
    return None


def quote(value: str) -> str:
    """One argument for Asterisk's AGI argument parser: double quotes, backslash escapes."""
    if "\n" in value or "\r" in value:
        raise ValueError("AGI arguments cannot contain line breaks")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_command(command: str) -> bytes:
    if "\n" in command or "\r" in command:
        raise ValueError("an AGI command is one line")
    return command.encode("utf-8") + b"\n"


def stream_file(sound: str, escape_digits: str = "") -> str:
    return f"STREAM FILE {sound} {quote(escape_digits)}"


def wait_for_digit(timeout_ms: int) -> str:
    return f"WAIT FOR DIGIT {timeout_ms}"


def get_data(sound: str, timeout_ms: int, max_digits: int) -> str:
    return f"GET DATA {sound} {timeout_ms} {max_digits}"


def set_variable(name: str, value: str) -> str:
    if not name or any(c in name for c in ' "\n\r'):
        raise ValueError(f"bad channel variable name {name!r}")
    return f"SET VARIABLE {name} {quote(value)}"


def get_variable(name: str) -> str:
    return f"GET VARIABLE {name}"


def exec_app(application: str, options: str = "") -> str:
    return f"EXEC {application} {quote(options)}" if options else f"EXEC {application}"
