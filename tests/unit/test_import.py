import subprocess
import sys

import pytest

import applied_mlx


def test_import_is_light_and_silent():
    code = ("import sys, applied_mlx; "
            "print(sorted(m for m in ('torch', 'transformers', 'gradio', 'datasets') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"  # nothing heavy imported and nothing else printed
    assert result.stderr == ""


def test_submodules_load_on_first_use():
    assert applied_mlx.metrics.__name__ == "applied_mlx.metrics"
    assert "metrics" in dir(applied_mlx)


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = applied_mlx.nope
