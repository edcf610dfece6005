"""The Day 6 app, driven through gradio_client and a headless browser (issue: Day 6)."""

import importlib.util

import pytest

if importlib.util.find_spec("applied_mlx.app") is None:
    pytest.skip("the Day 6 app (applied_mlx/app.py) is not built yet", allow_module_level=True)
