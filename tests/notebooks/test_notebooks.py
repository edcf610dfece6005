"""Every Day*/*.ipynb, executed under nbval in the smoke profile, Days 1-5 before Day 6.

Each notebook runs in its own pytest process (nbval compares against the stored outputs with
--nbval-lax), inside its day folder, with the artifacts written to one shared temporary root so
that Day 6 finds what Days 1-5 saved. Then each day's metrics.json is checked for sanity, and the
committed notebooks are checked for what readers on GitHub and nbval need.
"""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def day_number(path: Path) -> int:
    return int(re.match(r"Day(\d+)", path.parent.name).group(1))


NOTEBOOKS = sorted(ROOT.glob("Day*/*.ipynb"), key=lambda p: (day_number(p), p.name))
COMPONENT_DAYS = [nb for nb in NOTEBOOKS if day_number(nb) <= 5]


@pytest.fixture(scope="session")
def smoke_env(smoke_artifacts_root):
    env = dict(os.environ)
    env.update(APPLIED_MLX_PROFILE="smoke", APPLIED_MLX_ARTIFACTS=str(smoke_artifacts_root),
               PYTHONHASHSEED="0")
    return env


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_notebook_runs_in_the_smoke_profile(notebook, smoke_env):
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
           "-q", "--timeout", "600", notebook.name]
    result = subprocess.run(cmd, cwd=notebook.parent, env=smoke_env, capture_output=True, text=True,
                            timeout=1200)  # a hung kernel fails the test instead of stalling CI
    assert result.returncode == 0, (f"{notebook.name} failed under nbval:\n"
                                    f"{result.stdout[-6000:]}{result.stderr[-2000:]}")


def numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


@pytest.mark.parametrize("notebook", COMPONENT_DAYS, ids=lambda p: p.parent.name)
def test_smoke_metrics_are_sane(notebook, smoke_env):
    path = Path(smoke_env["APPLIED_MLX_ARTIFACTS"]) / notebook.parent.name / "metrics.json"
    assert path.is_file(), f"{notebook.parent.name} wrote no metrics.json (did its notebook run?)"
    values = list(numbers(json.loads(path.read_text())))
    assert values, f"{path} holds no numbers"
    assert all(math.isfinite(v) for v in values), f"{path} holds NaN or infinity"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_committed_notebook_is_readable_on_github(notebook):
    nb = json.loads(notebook.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert nb["cells"][0]["cell_type"] == "markdown" and "colab.research.google.com" in "".join(
        nb["cells"][0]["source"]), "the first cell should be the title with an Open-in-Colab badge"
    assert any(c.get("outputs") for c in code), "committed without outputs: readers on GitHub see no results"
    assert not [c for c in code if c.get("outputs") and c.get("execution_count") is None], \
        "outputs without execution counts fail under nbval"
    outputs = json.dumps([c.get("outputs", []) for c in code])
    assert '"output_type": "error"' not in outputs, "committed with an error output"
    assert not re.search(r"/(work|root|tmp|home)/[A-Za-z]", outputs), "outputs show a machine's absolute path"
    size = notebook.stat().st_size
    assert size < 2_000_000, f"{notebook.name} is {size / 1e6:.1f} MB: strip widget state, shrink figures"
