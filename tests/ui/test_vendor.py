"""The vendored browser libraries are the files their README names (version and sha256)."""

from __future__ import annotations

import hashlib
import re

from api.ui.routes import STATIC_DIR

VENDOR = STATIC_DIR / "vendor"


def test_each_vendored_file_matches_the_readme() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)`.*\| ([0-9.]+) \| `([0-9a-f]{64})` \|$", readme, re.MULTILINE)
    assert rows, "no vendored files listed"
    for name, _version, digest in rows:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
        assert (VENDOR / name.replace(".min.js", ".LICENSE")).is_file()
    assert "3.1.4" in (VENDOR / "dagre.min.js").read_text(encoding="utf-8")  # the bundle says its version
