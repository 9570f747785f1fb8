from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from build_readme_reference import refreshed  # noqa: E402


def test_readme_configuration_reference_matches_the_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert refreshed(readme) == readme, "run: .venv/bin/python scripts/build_readme_reference.py"


def test_readme_gives_the_two_setup_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make \w+)", quick, re.M)
    assert commands == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))] == [
        "exec make test"]
