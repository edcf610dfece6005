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


import pytest  # noqa: E402  (after the environment is set)


@pytest.fixture(scope="session")
def smoke_artifacts_root(tmp_path_factory):
    """The one artifacts root of a test session: the notebook tier writes Days 1-5 there in the smoke
    profile, then Day 6 and the app tier read them (no second training run in ``make test``).

    ``APPLIED_MLX_TEST_ARTIFACTS`` names an existing folder to reuse (and refresh) instead.
    """
    from pathlib import Path

    reuse = os.environ.get("APPLIED_MLX_TEST_ARTIFACTS", "").strip()
    if reuse:
        Path(reuse).mkdir(parents=True, exist_ok=True)
        return Path(reuse)
    return tmp_path_factory.mktemp("artifacts")
