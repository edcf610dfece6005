"""Day 6: one Gradio app over the five trained components, and the flows that combine them.

Four modules, each usable without the one after it:

1. ``components``: finds each day's artifact folder (``$APPLIED_MLX_ARTIFACTS/<day>``, else the day folders
   under the working directory or the repository), loads it through the day's inference class on first
   use, and reports per component: loaded (with its key metrics), missing or incompatible, with the
   notebook to run. Whatever one component's folder holds, the others load.
2. ``flows`` (plain functions, no Gradio): ``classify_image`` (Day 2 label, probabilities, Grad-CAM and a
   sentence about them), the chat's skills, ``forecast_vs_actual`` (Day 4 on held-out rows) and
   ``user_dashboard`` (Day 1 for a user, Day 5 on their review text).
3. ``routing``: ``chat``, Day 3's routing rule (``assistant.route_message``) with a handler per component.
4. ``ui``: ``build_demo()`` makes the Gradio Blocks app; ``python -m applied_mlx.app`` serves it on
   127.0.0.1 (see ``__main__``).

Importing this package is cheap: it builds nothing, reads no file and imports neither torch nor gradio;
the names below load their module on first use.
"""

from __future__ import annotations

import importlib

from .components import (
    SPECS,
    Components,
    ComponentSpec,
    ComponentStatus,
    ComponentUnavailable,
    find_artifact_dir,
    key_metrics,
    load_components,
    settings,
)

# name -> the submodule that defines it (imported on first access: routing pulls in torch, ui gradio)
_LAZY = {
    **dict.fromkeys(("ImageAnswer", "confidence_words", "heatmap_region", "describe_prediction", "classify_image",
                     "extract_title", "extract_user_id", "extract_review", "parse_horizon", "CAPABILITIES",
                     "forecast_series", "check_horizon", "check_k", "check_text", "ForecastView", "forecast_vs_actual",
                     "forecast_summary", "parse_user_id", "UserView", "user_dashboard", "sentiment_line",
                     "percentile", "time_ms", "failure_text", "CHAT_RECOMMENDATIONS", "DEFAULT_FORECAST_HOURS",
                     "MAX_K", "MAX_MESSAGE_CHARS"), "flows"),
    **dict.fromkeys(("CUES", "ROUTE_CONFIDENCE", "Route", "keyword_cue", "decide_route", "route", "SKILL_HANDLERS",
                     "ChatAnswer", "chat", "format_chat", "chat_text", "EXAMPLE_MESSAGES", "flow_calls",
                     "flow_latency"), "routing"),
    **dict.fromkeys(("build_demo", "launch", "longest_horizon"), "ui"),
}

__all__ = ["SPECS", "ComponentSpec", "ComponentStatus", "Components", "ComponentUnavailable", "find_artifact_dir",
           "key_metrics", "load_components", "settings", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
