"""What callers hear: Puente's prompts where Asterisk plays them, music on hold classes with files
in them, and a tone zone for ringback."""

from __future__ import annotations

from pathlib import Path

from ivr.asterisk.checkfiles import Inputs
from ivr.asterisk.findings import Finding, Severity


def _no_data_dir(inp: Inputs, what: str) -> list[Finding]:
    return [Finding(inp.path("asterisk.conf"), 0, f"{what} not checked: no astdatadir known",
                    "pass --data-dir (e.g. /var/lib/asterisk)", Severity.NOTE)]


def check_prompts(inp: Inputs) -> list[Finding]:
    if inp.data_dir is None:
        return _no_data_dir(inp, "prompts")
    sounds = inp.data_dir / "sounds" / inp.settings.agi.sound_prefix
    missing = [k for k in inp.prompt_keys if not (sounds / f"{k}.wav").is_file()]
    if not missing:
        return []
    return [Finding(str(sounds), 0, f"{len(missing)} of {len(inp.prompt_keys)} prompts are not where Asterisk "
                    f"plays them (first: {missing[0]}.wav)",
                    f"run: ivr prompts build --asterisk-dir {inp.data_dir / 'sounds'}")]


def check_moh(inp: Inputs) -> list[Finding]:
    if inp.data_dir is None:
        return _no_data_dir(inp, "music on hold files")
    findings = []
    for section in inp.file("musiconhold.conf").resolved():
        if section.name == "general" or section.value("mode", "files") != "files":
            continue
        directory = Path(section.value("directory", "moh"))
        folder = directory if directory.is_absolute() else inp.data_dir / directory
        if not folder.is_dir() or not any(p.is_file() for p in folder.iterdir()):
            findings.append(Finding(section.file, section.line, f"music class {section.name} has no files in "
                                    f"{folder}", "install the music (Debian: asterisk-moh-opsound-wav; a source "
                                    "build: make install) or point 'directory' at yours"))
    return findings


def check_music(inp: Inputs) -> list[Finding]:
    moh = inp.file("musiconhold.conf")
    classes = {s.name for s in moh.resolved()} - {"general"}
    findings = []
    wanted = {inp.settings.agi.moh_class: "IVR_AGI__MOH_CLASS"} | {
        q.music_class: f"queue {q.name}'s music_class" for q in inp.queues.values()}
    for name, who in sorted(wanted.items()):
        if name not in classes:
            findings.append(Finding(inp.path("musiconhold.conf"), 0, f"no music class [{name}] ({who})",
                                    f"add [{name}] with mode = files"))
    for section in moh.resolved():
        entry = section.get("random")
        if entry is not None:
            findings.append(Finding(entry.file, entry.line, "'random' is deprecated", "use 'sort = random'"))
    return findings


def check_indications(inp: Inputs) -> list[Finding]:
    conf = inp.files.get("indications.conf")
    if conf is None:
        return []  # reported as a missing file
    general = conf.first("general")
    country = general.value("country") if general is not None else ""
    if not country or conf.first(country) is None:
        return [Finding(inp.path("indications.conf"), general.line if general else 0,
                        f"default country {country or '(none)'} has no tone zone: callers hear silence where "
                        "Asterisk should play ringback", "set [general] country to a zone defined in this file")]
    return []
