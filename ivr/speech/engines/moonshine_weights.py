"""Moonshine base (English)'s weights as PyPI ships them: inside the ``moonshine-cpp`` wheel.

``moonshine-cpp`` (Moonshine AI, MIT) bundles the English base model as ONNX Runtime files next to
its own native library. Only the model files are used, read by the ``onnxruntime`` package; the
package's Python module is never imported (it loads its bundled native code at import, built for
CPUs with instructions this server may lack). The files are checked against the SHA-256 of the
published 0.1.4 wheel before they are loaded, so a changed upload is refused rather than run.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from ivr.speech.base import ModelMissing

PACKAGE = "moonshine_cpp"
ENCODER = "encoder_model.ort"
DECODER = "decoder_model_merged.ort"
TOKENIZER = "tokenizer.bin"
SHA256 = {
    ENCODER: "9d1a19e044cbf89a207723d1adb667de89a5671a1e3e611b8ebe721b2c31219c",
    DECODER: "370e0c1f161d68dc1c2264c1a82024fb123380da3b73f47f05531d1e8d3308c3",
    TOKENIZER: "04670d78994d030185c3dd843c60591788fed0a56cc6750747bd326825f13ca9",
}
INSTALL = "pip install moonshine-cpp==0.1.4 onnxruntime (make install)"


def model_dir() -> Path | None:
    """The English base model's folder in the installed package, or None (package or onnxruntime missing)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    spec = importlib.util.find_spec(PACKAGE)  # finds the folder; does not import (see the module's docstring)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models" / "base-en"
    return folder if all((folder / name).is_file() for name in SHA256) else None


def installed() -> bool:
    return model_dir() is not None


def verify(folder: Path) -> None:
    """Raise ModelMissing unless every file is there and is the published one (63 MB hashed once
    per process, where the model loads: in a speech worker, off the event loop)."""
    for name, expected in SHA256.items():
        path = folder / name
        if not path.is_file():
            raise ModelMissing(f"Moonshine's {name} is missing from {folder}: {INSTALL}")
        digest = hashlib.sha256()
        with path.open("rb") as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            raise ModelMissing(f"Moonshine's {name} does not match the published file (sha256 "
                               f"{digest.hexdigest()[:16]}…): reinstall it: {INSTALL}")
