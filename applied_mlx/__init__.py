"""applied_mlx: six applied machine-learning projects, one reusable package.

Importing the package is cheap and has no side effects: submodules (which import torch,
transformers or gradio) load on first use, e.g. ``applied_mlx.training`` or
``from applied_mlx.metrics import ranking_metrics``.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

_SUBMODULES = (
    "artifacts",
    "text",
    "data",
    "env",
    "metrics",
    "plots",
    "training",
    "recsys",
    "vision",
    "assistant",
    "forecasting",
    "sentiment",
    "app",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
