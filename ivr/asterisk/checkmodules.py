"""modules.conf: every module Puente needs, and every module the dialplan's applications and
functions need (with the modules each of those requires), is loaded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ivr.asterisk import dialplan as dp
from ivr.asterisk.checkfiles import Inputs
from ivr.asterisk.conf import ConfFile, Entry
from ivr.asterisk.findings import Finding, Severity
from ivr.asterisk.modules import (
    APP_MODULES,
    BUILTIN_APPS,
    FUNC_MODULES,
    PUENTE_NEEDS,
    Need,
    module_name,
    requirement_path,
    with_requirements,
)


def needed_modules(extensions: ConfFile) -> tuple[dict[str, Need], list[Finding]]:
    """Module -> why, for Puente itself and for each application and function the dialplan uses."""
    needs = {n.module: n for n in PUENTE_NEEDS}
    notes: list[Finding] = []
    for use in dp.applications(extensions):
        name = use.name.lower()
        if name in BUILTIN_APPS:
            continue
        module = APP_MODULES.get(name)
        if module is None:
            notes.append(Finding(use.entry.file, use.entry.line, f"application {use.name}() is not in Puente's "
                                 "module table, its module is not checked", "make sure its module is loaded",
                                 Severity.NOTE))
            continue
        needs.setdefault(module, Need(module, f"{use.name}() at {Path(use.entry.file).name}:{use.entry.line}"))
    for use in dp.functions(extensions):
        module = FUNC_MODULES.get(use.name.lower())
        if module is not None:
            needs.setdefault(module, Need(module, f"${{{use.name}()}} at {Path(use.entry.file).name}:{use.entry.line}"))
    return needs, notes


def check_modules(inp: Inputs) -> list[Finding]:
    modules = inp.file("modules.conf")
    section = modules.first("modules")
    path = inp.path("modules.conf")
    if section is None:
        return [Finding(path, 0, "no [modules] section", "use Puente's dialplan/asterisk/modules.conf")]
    needs, findings = needed_modules(inp.file("extensions.conf"))
    autoload = section.get("autoload")
    autoload_on = autoload is not None and autoload.value.lower() in ("yes", "true", "1", "on")
    loaded = {module_name(e.value): e for e in section.entries
              if e.key.lower() in ("load", "require", "preload", "preload-require")}
    noload = {module_name(e.value): e for e in section.entries if e.key.lower() == "noload"}
    where = autoload.line if autoload is not None else section.line
    # what Puente needs, and what every listed module requires (else that one does not load either)
    for module in with_requirements([*needs, *loaded]):
        if module in noload:
            entry = noload[module]
            findings.append(Finding(entry.file, entry.line, f"{module} is not loaded ({_why(module, needs, loaded)})",
                                    f"remove 'noload => {module}.so'"))
        elif not autoload_on and module not in loaded:
            findings.append(Finding(path, _requirer_line(module, loaded) or where,
                                    f"{module} is not loaded ({_why(module, needs, loaded)})",
                                    f"add 'load => {module}.so'"))
    return findings


def _why(module: str, needs: Mapping[str, Need], loaded: Mapping[str, Entry]) -> str:
    if module in needs:
        return needs[module].why
    for root in [*needs, *loaded]:
        chain = requirement_path(root, module)
        if chain:
            why = f"{' -> '.join(chain)}: Asterisk refuses to load {chain[-2]} without it"
            return f"{why}; {root}: {needs[root].why}" if root in needs else why
    return "needed"


def _requirer_line(module: str, loaded: Mapping[str, Entry]) -> int | None:
    """The line of a loaded module that requires ``module`` (where Asterisk's error will point)."""
    for name, entry in loaded.items():
        chain = requirement_path(name, module)
        if chain and len(chain) > 1:
            return entry.line
    return None
