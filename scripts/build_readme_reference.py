"""Refresh the configuration reference in README.md from the settings model."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ivr.settings_cli import reference_markdown

START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def refreshed(readme: str) -> str:
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(readme):
        raise SystemExit("README.md has no configuration reference markers")
    return pattern.sub(lambda _: f"{START}\n{reference_markdown()}{END}", readme)


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(refreshed(path.read_text(encoding="utf-8")), encoding="utf-8")
