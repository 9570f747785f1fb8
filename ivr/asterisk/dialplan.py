"""What an extensions.conf uses: applications, functions, FastAGI addresses and queue names, each
with the line it is on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.asterisk.conf import ConfFile, Entry

FUNC_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\(")
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
AGI_URL_RE = re.compile(r"agi://([^/,)\s]+)")
NOT_CONTEXTS = ("general", "globals")


@dataclass(frozen=True, slots=True)
class Use:
    """One application call (or function use) on one dialplan line."""

    name: str
    args: str
    entry: Entry


@dataclass(frozen=True, slots=True)
class AgiTarget:
    host: str
    port: int
    entry: Entry


def _app_field(entry: Entry) -> str | None:
    """The ``App(args)`` part of ``exten => 100,1,App(args)`` / ``same => n(label),App(args)``."""
    key = entry.key.lower()
    value = entry.value
    if key == "exten":
        parts = value.split(",", 2)
        if len(parts) < 3 or parts[1].strip().lower() == "hint":
            return None
        return parts[2].strip()
    if key == "same":
        parts = value.split(",", 1)
        return parts[1].strip() if len(parts) == 2 else None
    return None


def dialplan_lines(extensions: ConfFile) -> list[Entry]:
    return [e for s in extensions.sections if s.name.lower() not in NOT_CONTEXTS for e in s.entries
            if e.key.lower() in ("exten", "same")]


def applications(extensions: ConfFile) -> list[Use]:
    uses = []
    for entry in dialplan_lines(extensions):
        field = _app_field(entry)
        if not field:
            continue
        name, _, rest = field.partition("(")
        args = rest[:-1] if rest.endswith(")") else rest
        uses.append(Use(name.strip(), args, entry))
    return uses


def functions(extensions: ConfFile) -> list[Use]:
    return [Use(m.group(1), "", entry) for entry in dialplan_lines(extensions)
            for m in FUNC_RE.finditer(entry.value)]


def agi_targets(extensions: ConfFile) -> list[AgiTarget]:
    out = []
    for entry in dialplan_lines(extensions):
        for match in AGI_URL_RE.finditer(entry.value):
            host, _, port = match.group(1).rpartition(":") if ":" in match.group(1) else (match.group(1), "", "")
            out.append(AgiTarget(host or match.group(1), int(port) if port.isdigit() else 4573, entry))
    return out


def globals_of(extensions: ConfFile) -> dict[str, str]:
    section = extensions.first("globals")
    return {e.key: e.value for e in section.entries} if section is not None else {}


def queue_names(extensions: ConfFile) -> list[tuple[str, Entry]]:
    """Queue() names that are fixed once [globals] are substituted (dynamic names are skipped)."""
    variables = globals_of(extensions)
    out = []
    for use in applications(extensions):
        if use.name.lower() != "queue":
            continue
        name = use.args.split(",", 1)[0].strip()
        name = VAR_RE.sub(lambda m: variables.get(m.group(1), m.group(0)), name)
        if name and "$" not in name:
            out.append((name, use.entry))
    return out
