"""Asterisk's ``.conf`` format, read into typed values that remember their line numbers.

What is understood: ``[name]``, ``[name](!)`` (a template), ``[name](tmpl,...)`` (inherits),
``[name](+)`` (adds to an earlier section of that name), ``key = value`` and ``key => value``,
``;`` comments (``\\;`` is a literal semicolon), ``;-- --;`` block comments, and ``#include`` /
``#tryinclude`` (followed when the file is beside the including one). Enough for the checks of
``ivr asterisk check``; not a full reimplementation of Asterisk's config loader.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_CONF_BYTES = 2_000_000  # a config file larger than this is not a config file
MAX_INCLUDE_DEPTH = 8


class ConfError(ValueError):
    """A file that cannot be read as Asterisk configuration (one line, with where)."""


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    value: str
    file: str
    line: int
    arrow: bool = False  # "=>" rather than "="


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    file: str
    line: int
    entries: tuple[Entry, ...] = ()
    template: bool = False
    inherits: tuple[str, ...] = ()

    def get(self, key: str) -> Entry | None:
        """The last ``key`` (Asterisk's later value wins for single-valued options)."""
        found = None
        for entry in self.entries:
            if entry.key.lower() == key.lower():
                found = entry
        return found

    def value(self, key: str, default: str = "") -> str:
        entry = self.get(key)
        return entry.value if entry is not None else default

    def all(self, key: str) -> list[Entry]:
        return [e for e in self.entries if e.key.lower() == key.lower()]


@dataclass(frozen=True, slots=True)
class ConfFile:
    path: str
    sections: tuple[Section, ...] = ()
    includes: tuple[Entry, ...] = field(default=())  # "#include"/"#tryinclude" lines (key = directive)

    def named(self, name: str) -> list[Section]:
        return [s for s in self.sections if s.name == name]

    def first(self, name: str) -> Section | None:
        found = self.named(name)
        return found[0] if found else None

    def resolved(self) -> list[Section]:
        """Every non-template section with its templates' entries in front of its own (so its own
        win), and ``(+)`` additions merged into the section they extend."""
        templates = {s.name: s for s in self.sections if s.template}
        out: list[Section] = []
        for section in self.sections:
            if section.template:
                continue
            if section.inherits == ("+",) and out and any(s.name == section.name for s in out):
                index = max(i for i, s in enumerate(out) if s.name == section.name)
                base = out[index]
                out[index] = Section(base.name, base.file, base.line, base.entries + section.entries,
                                     base.template, base.inherits)
                continue
            inherited: list[Entry] = []
            for name in _template_chain(section, templates):
                inherited += templates[name].entries
            out.append(Section(section.name, section.file, section.line, tuple(inherited) + section.entries,
                               False, section.inherits))
        return out


def _template_chain(section: Section, templates: dict[str, Section], depth: int = 0) -> list[str]:
    chain: list[str] = []
    if depth > 8:
        return chain
    for name in section.inherits:
        parent = templates.get(name)
        if parent is None:
            continue
        chain += _template_chain(parent, templates, depth + 1)
        chain.append(name)
    return chain


def strip_comment(line: str) -> str:
    """``key = a\\;b ; note`` -> ``key = a;b``."""
    out: list[str] = []
    escaped = False
    for char in line:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ";":
            break
        else:
            out.append(char)
    if escaped:
        out.append("\\")
    return "".join(out).strip()


def _lines_without_block_comments(text: str) -> Iterator[tuple[int, str]]:
    in_block = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if in_block:
            end = line.find("--;")
            if end < 0:
                continue
            line = line[end + 3:]
            in_block = False
        start = line.find(";--")
        if start >= 0:
            end = line.find("--;", start + 3)
            if end < 0:
                in_block = True
                line = line[:start]
            else:
                line = line[:start] + line[end + 3:]
        yield number, line


def parse_text(text: str, file: str) -> ConfFile:
    """Parse one file's text (no includes followed)."""
    sections: list[Section] = []
    includes: list[Entry] = []
    current: tuple[str, int, bool, tuple[str, ...]] | None = None
    entries: list[Entry] = []

    def close() -> None:
        if current is not None:
            sections.append(Section(current[0], file, current[1], tuple(entries), current[2], current[3]))

    for number, raw in _lines_without_block_comments(text):
        line = strip_comment(raw)
        if not line:
            continue
        if line.startswith("#"):
            directive, _, rest = line.partition(" ")
            includes.append(Entry(directive.lower(), rest.strip().strip('"'), file, number))
            continue
        if line.startswith("["):
            close()
            entries = []
            current = _section_header(line, file, number)
            continue
        key, arrow, value = _key_value(line)
        if key is None:
            raise ConfError(f"{file}:{number}: cannot read {line!r} (expected key = value or [section])")
        if current is None:
            raise ConfError(f"{file}:{number}: {key!r} comes before any [section]")
        entries.append(Entry(key, value, file, number, arrow))
    close()
    return ConfFile(file, tuple(sections), tuple(includes))


def _section_header(line: str, file: str, number: int) -> tuple[str, int, bool, tuple[str, ...]]:
    end = line.find("]")
    if end < 0:
        raise ConfError(f"{file}:{number}: section header without ']': {line!r}")
    name = line[1:end].strip()
    rest = line[end + 1:].strip()
    options: tuple[str, ...] = ()
    if rest.startswith("(") and rest.endswith(")"):
        options = tuple(o.strip() for o in rest[1:-1].split(",") if o.strip())
    template = "!" in options
    inherits = tuple(o for o in options if o != "!")
    return name, number, template, inherits


def _key_value(line: str) -> tuple[str | None, bool, str]:
    index = line.find("=")
    if index <= 0:
        return None, False, ""
    arrow = line[index + 1:index + 2] == ">"
    key = line[:index].strip()
    value = line[index + (2 if arrow else 1):].strip()
    return key, arrow, value


def load(path: Path, *, depth: int = 0) -> ConfFile:
    """Read ``path`` and the files it ``#include``s from its own directory, in order."""
    try:
        size = path.stat().st_size
        if size > MAX_CONF_BYTES:
            raise ConfError(f"{path}: {size} bytes is too large for a config file")
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfError(f"{path}: cannot read ({exc.strerror})") from None
    parsed = parse_text(text, str(path))
    if not parsed.includes or depth >= MAX_INCLUDE_DEPTH:
        return parsed
    sections = list(parsed.sections)
    for inc in parsed.includes:
        if inc.key not in ("#include", "#tryinclude"):
            continue
        target = path.parent / inc.value
        if not target.is_file():
            continue
        sections += load(target, depth=depth + 1).sections
    return ConfFile(parsed.path, tuple(sections), parsed.includes)
