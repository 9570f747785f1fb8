"""The vendored browser library is exactly the npm package's recorded build, served by us."""

from __future__ import annotations

import hashlib
from pathlib import Path

from api.ui.routes import STATIC_DIR, VENDOR_FILES

VENDOR = STATIC_DIR / "vendor"


def _sums() -> dict[str, str]:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def test_vendored_files_match_their_recorded_digests() -> None:
    sums = _sums()
    assert set(sums) == {"uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"}
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "MIT" in (VENDOR / "uPlot.LICENSE").read_text()


def test_only_the_build_files_are_served() -> None:
    assert set(VENDOR_FILES) == {"uPlot.iife.min.js", "uPlot.min.css"}
    assert all(isinstance(p, Path) and p.parent == VENDOR for p in VENDOR_FILES.values())
