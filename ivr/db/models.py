"""Import every domain's table module so ``Base.metadata`` holds the whole schema."""

from __future__ import annotations

import importlib

# Each domain appends its table modules here.
MODEL_MODULES: tuple[str, ...] = (
    "ivr.calls.models",
    "ivr.schedules.models",
    "ivr.acd.models",
    "ivr.config.models",
    "ivr.flowadmin.models",
    "callbacks.models",
    "deflection.models",
    "api.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
