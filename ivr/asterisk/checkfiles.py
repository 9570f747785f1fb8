"""The Asterisk files ``ivr asterisk check`` reads (:class:`Inputs`, with this Puente's side), and
whether Asterisk can load them at all: each required file there and readable, each ``#include``
found, each ``[x](+)`` adding to an ``[x]`` defined before it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ivr.acd.config import AgentConfig, QueueConfig
from ivr.asterisk.conf import ConfError, ConfFile, Section, load
from ivr.asterisk.findings import Finding
from ivr.settings import Settings

REQUIRED_FILES = ("modules.conf", "extensions.conf", "pjsip.conf", "queues.conf", "manager.conf",
                  "musiconhold.conf", "indications.conf", "rtp.conf")


@dataclass(frozen=True)
class Inputs:
    """What the checks read: the Asterisk directory's files, and this Puente's side."""

    conf_dir: Path
    files: Mapping[str, ConfFile]
    settings: Settings
    agents: Mapping[str, AgentConfig]
    queues: Mapping[str, QueueConfig]
    agents_path: Path
    data_dir: Path | None = None
    prompt_keys: tuple[str, ...] = ()
    read_errors: tuple[Finding, ...] = field(default=())

    def file(self, name: str) -> ConfFile:
        return self.files.get(name) or ConfFile(str(self.conf_dir / name))

    def path(self, name: str) -> str:
        return str(self.conf_dir / name)


def read_dir(conf_dir: Path) -> tuple[dict[str, ConfFile], list[Finding]]:
    files: dict[str, ConfFile] = {}
    findings: list[Finding] = []
    for name in (*REQUIRED_FILES, "asterisk.conf"):
        path = conf_dir / name
        if not path.is_file():
            if name != "asterisk.conf":
                findings.append(Finding(str(path), 0, f"{name} is missing",
                                        f"copy it from Puente's dialplan/asterisk/{name}"))
            continue
        try:
            files[name] = load(path)
        except ConfError as exc:
            findings.append(Finding(str(path), 0, str(exc), "fix the file (or run as a user who can read it)"))
    return files, findings


def data_dir_of(files: Mapping[str, ConfFile], given: Path | None) -> Path | None:
    if given is not None:
        return given
    conf = files.get("asterisk.conf")
    section = conf.first("directories") if conf is not None else None
    value = section.value("astdatadir") if section is not None else ""
    return Path(value) if value else None


def typed_sections(conf: ConfFile, kind: str) -> list[Section]:
    """The sections of a pjsip.conf-like file with ``type = kind`` (templates applied)."""
    return [s for s in conf.resolved() if s.value("type").lower() == kind]


def check_additions(inp: Inputs) -> list[Finding]:
    """``[x](+)`` adds to an earlier ``[x]``, ``#include`` names a file: without them Asterisk
    refuses the whole file."""
    findings = []
    for name, conf in sorted(inp.files.items()):
        for inc in conf.includes:
            if inc.key == "#include" and not (Path(conf.path).parent / inc.value).is_file():
                findings.append(Finding(inc.file, inc.line, f"#include {inc.value}: no such file, Asterisk refuses "
                                        f"to load {name}", f"copy Puente's dialplan/asterisk/{inc.value}"))
        seen: set[str] = set()
        for section in conf.sections:
            if section.inherits == ("+",) and section.name not in seen:
                findings.append(Finding(section.file, section.line, f"[{section.name}](+) adds to a section "
                                        f"{name} does not define: Asterisk refuses to load {name}",
                                        "define it first, or render the secrets again (ivr asterisk render DIR "
                                        "--secrets writes only the current agents)"))
            seen.add(section.name)
    return findings
