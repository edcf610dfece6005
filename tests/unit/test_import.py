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


DAY_MODULES = ("recsys", "vision", "assistant", "forecasting", "sentiment")


def imported_modules(path) -> set[str]:
    """The applied_mlx modules a source file imports (``from .x import``, ``from . import x``,
    ``import applied_mlx.x``), read from its syntax tree, wherever the import statement sits."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("applied_mlx."):
                found.add(node.module.split(".")[1])
            elif node.module == "applied_mlx":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("applied_mlx."))
    return found


@pytest.mark.parametrize("day", DAY_MODULES)
def test_no_day_module_imports_another(day):
    from pathlib import Path

    path = Path(applied_mlx.__file__).parent / f"{day}.py"
    others = imported_modules(path) & (set(DAY_MODULES) - {day})
    assert not others, f"{day}.py imports {sorted(others)}: shared code belongs in training, metrics, data or plots"
    assert "app" not in imported_modules(path), f"{day}.py imports the app: the app builds on the days, not back"


def test_the_import_reader_sees_every_form(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from .sentiment import X\ndef f():\n    from . import vision\n"
                      "    import applied_mlx.recsys\n    from applied_mlx import forecasting\n")
    assert imported_modules(source) == {"sentiment", "vision", "recsys", "forecasting"}


@pytest.mark.parametrize("module", [*DAY_MODULES, "app"])
def test_every_day_keeps_its_profiles_in_one_settings_function(module):
    import importlib

    settings = importlib.import_module(f"applied_mlx.{module}").settings
    sizes = {profile: settings(profile) for profile in ("smoke", "quick", "full")}
    assert all(isinstance(s, dict) and s for s in sizes.values())
    assert sizes["smoke"] != sizes["quick"], "the smoke profile should be smaller than the quick one"
    with pytest.raises(ValueError, match="profile"):
        settings("huge")
