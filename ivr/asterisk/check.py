"""``ivr asterisk check``: does this Asterisk configuration fit this Puente? One finding per
mismatch, each naming the file and line to change and how (``file:line: problem — fix``).

Every check is a small pure function of parsed files and settings, so each is tested on its own
with a broken copy of the shipped configuration.

The checks, one module per concern: :mod:`~ivr.asterisk.checkfiles` (the files, and what the
checks read), :mod:`~ivr.asterisk.checkmodules`, :mod:`~ivr.asterisk.checkconnections` (AGI,
AudioSocket, AMI), :mod:`~ivr.asterisk.checkdialplan` (contexts, trunk, queues),
:mod:`~ivr.asterisk.checkpjsip` (agents' phones, codecs), :mod:`~ivr.asterisk.checksounds`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ivr.asterisk.checkconnections import check_addresses, check_manager
from ivr.asterisk.checkdialplan import check_originate, check_queues
from ivr.asterisk.checkfiles import Inputs, check_additions
from ivr.asterisk.checkmodules import check_modules
from ivr.asterisk.checkpjsip import check_agents, check_codecs
from ivr.asterisk.checksounds import check_indications, check_moh, check_music, check_prompts
from ivr.asterisk.findings import Finding, Severity

ALL_CHECKS = (check_additions, check_modules, check_addresses, check_originate, check_agents, check_codecs,
              check_queues, check_manager, check_music, check_indications, check_prompts, check_moh)


Check = Callable[[Inputs], list[Finding]]


def run_checks(inp: Inputs, checks: Iterable[Check] = ALL_CHECKS) -> list[Finding]:
    findings = list(inp.read_errors)
    for check in checks:
        findings += check(inp)
    return findings


def problems(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.PROBLEM]
