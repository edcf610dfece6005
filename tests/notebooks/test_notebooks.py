"""Every Day*/*.ipynb, executed under nbval in the smoke profile, Days 1-5 before Day 6.

Each notebook runs in its own pytest process (nbval compares against the stored outputs with
--nbval-lax), inside its day folder, with the artifacts written to one shared temporary root so
that Day 6 finds what Days 1-5 saved (it builds any that are missing itself). Each day's test then
checks the metrics.json its notebook saved against that day's smoke bounds, and the committed
notebooks are checked for what readers on GitHub and nbval need.
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


def numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


# What each day's smoke run must reach: bounds that a model that learned nothing, or a broken metric, fails
# (measured smoke values in the comments). The smoke models are tiny and train for seconds, so the bounds
# compare with the day's own baselines or with chance rather than with the published numbers.
SMOKE_BOUNDS = {
    "Day1_Recommendation": lambda m: [
        ("ranking nDCG@10 far above a random ranking (0.29)", m["ndcg@10"] >= 0.2),
        ("rating RMSE on a 1-5 scale (1.05)", m["rmse"] <= 1.3),
    ],
    "Day2_ImageClassification": lambda m: [
        # The random ResNet18 on the generated shapes (each class in its own colour), 36 validation images; chance
        # is 0.33. A broken loop stays near it: with learning rate 0, or no optimizer step, 0.36 / 0.37 / 0.30
        # (the three bounds in order); trained on shuffled labels, 0.33 / 0.42 / 0.48.
        ("the saved model (every layer fine-tuned, photo + mirror) well above chance (1.00)", m["accuracy"] >= 0.8),
        ("phase 1, the new head on the frozen network's features, over 3 seeds (1.00)",
         m["frozen_accuracy"]["mean"] >= 0.8),
        ("phase 2, the last block fine-tuned too, over 3 seeds (0.98)", m["last_block_accuracy"]["mean"] >= 0.7),
    ],
    "Day3_Chatbot": lambda m: [
        ("retrieval finds the gold passage in its top 3 (0.98)", m["chat"]["retrieval_recall_at_3"] >= 0.9),
        ("routing well above chance over 8 skills (0.42; chance 0.125)", m["chat"]["routing_accuracy"] >= 0.35),
    ],
    "Day4_TimeSeries": lambda m: [
        ("the saved forecaster beats the seasonal naive forecast (0.05 vs 0.20)",
         m["forecaster_mse_h24"] < m["results"]["seasonal naive 24h"]["24"]["mse"]),
        ("the LSTM beats repeating the last value (0.97 vs 1.56)",
         m["lstm_mse_h24"] < m["results"]["repeat last value"]["24"]["mse"]),
    ],
    "Day5_Sentiment": lambda m: [
        ("dev accuracy of the tiny model on the generated reviews (0.96)", m["dev"]["accuracy"] >= 0.8),
        ("int8 gives the fp32 labels (1.00)", m["int8"]["agreement"] >= 0.95),
    ],
}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_notebook_runs_in_the_smoke_profile(notebook, smoke_env):
    """Runs the notebook under nbval, then checks the metrics it saved against its day's smoke bounds.

    Day 6 needs Days 1-5's components: its own build cell trains any that are missing (smoke profile), so the
    test does not depend on the order the tests run in.
    """
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
           "-q", "--timeout", "600", notebook.name]
    result = subprocess.run(cmd, cwd=notebook.parent, env=smoke_env, capture_output=True, text=True,
                            timeout=1200)  # a hung kernel fails the test instead of stalling CI
    assert result.returncode == 0, (f"{notebook.name} failed under nbval:\n"
                                    f"{result.stdout[-6000:]}{result.stderr[-2000:]}")
    day = notebook.parent.name
    if day not in SMOKE_BOUNDS:
        return
    path = Path(smoke_env["APPLIED_MLX_ARTIFACTS"]) / day / "metrics.json"
    assert path.is_file(), f"{day} wrote no metrics.json"
    metrics = json.loads(path.read_text())
    values = list(numbers(metrics))
    assert values and all(math.isfinite(v) for v in values), f"{path} holds no numbers, or NaN or infinity"
    failed = [what for what, ok in SMOKE_BOUNDS[day](metrics) if not ok]
    assert not failed, f"{day} smoke metrics out of bounds: {failed}\n{json.dumps(metrics, indent=1)[:3000]}"


def test_every_component_day_has_smoke_bounds():
    assert {nb.parent.name for nb in COMPONENT_DAYS} == set(SMOKE_BOUNDS)


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
