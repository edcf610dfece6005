"""Test-wide setup: offline hubs, a headless matplotlib, and a private data cache.

Set before any test imports transformers, datasets or matplotlib, so that nothing reaches for
the network or a display and nothing is written to the user's ~/.cache.
"""

import os
import tempfile

os.environ.update(
    HF_HUB_OFFLINE="1",
    HF_DATASETS_OFFLINE="1",
    TRANSFORMERS_OFFLINE="1",
    HF_HUB_DISABLE_PROGRESS_BARS="1",
    TOKENIZERS_PARALLELISM="false",
    MPLBACKEND="Agg",
    GRADIO_ANALYTICS_ENABLED="False",
)
os.environ.setdefault("APPLIED_MLX_CACHE", tempfile.mkdtemp(prefix="applied_mlx_test_cache_"))
