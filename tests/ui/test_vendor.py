"""The vendored browser libraries are exactly the npm packages' recorded builds, served by us."""

from __future__ import annotations

import hashlib
from pathlib import Path

from api.ui.routes import STATIC_DIR, VENDOR_FILES

VENDOR = STATIC_DIR / "vendor"
BUILDS = {"uPlot.iife.min.js", "uPlot.min.css", "dagre.min.js"}
LICENCES = {"uPlot.LICENSE", "dagre.LICENSE", "dagre.min.js.LEGAL.txt"}


def _sums() -> dict[str, str]:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def test_vendored_files_match_their_recorded_digests() -> None:
    sums = _sums()
    assert set(sums) == BUILDS | LICENCES
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "MIT" in (VENDOR / "uPlot.LICENSE").read_text()
    assert "3.1.4" in (VENDOR / "dagre.min.js").read_text(encoding="utf-8")  # the bundle says its version


def test_only_the_build_files_are_served() -> None:
    assert set(VENDOR_FILES) == BUILDS
    assert all(isinstance(p, Path) and p.parent == VENDOR for p in VENDOR_FILES.values())
