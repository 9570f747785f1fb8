"""Models a worker process loads once and its engines share, one per model directory."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

M = TypeVar("M")


class ModelsByDir(Generic[M]):
    """The models a process has loaded, by directory, each built by ``load`` on first use."""

    def __init__(self, load: Callable[[Path], M]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._loaded: dict[Path, M] = {}

    def get(self, model_dir: Path) -> M:
        with self._lock:
            model = self._loaded.get(model_dir)
            if model is None:
                model = self._load(model_dir)
                self._loaded[model_dir] = model
            return model

    @property
    def loaded(self) -> int:
        return len(self._loaded)
