"""What ``ivr asterisk check`` reports: one :class:`Finding` per mismatch, naming the file and line
to change and how (``file:line: problem — fix``); a note where Puente could not check."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.StrEnum):
    PROBLEM = "problem"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Finding:
    file: str
    line: int  # 0: the file as a whole
    problem: str
    fix: str
    severity: Severity = Severity.PROBLEM

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        tag = "" if self.severity is Severity.PROBLEM else "note: "
        return f"{where}: {tag}{self.problem} — {self.fix}"
