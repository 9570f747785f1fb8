"""Import every domain's table module so ``Base.metadata`` holds the whole schema."""

from __future__ import annotations

import importlib

# Each domain appends its table modules here.
MODEL_MODULES: tuple[str, ...] = (
    "ivr.calls.models",
    "ivr.nodes.models",
    "ivr.schedules.models",
    "ivr.acd.models",
    "ivr.flowadmin.models",
    "callbacks.models",
    "deflection.models",
    "api.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
