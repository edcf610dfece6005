"""Day 5 on the real SST-2 and the real pretrained encoder: the notebook in the quick profile.

Runs the notebook top to bottom (APPLIED_MLX_PROFILE=quick, its artifact in a temporary folder), then
checks the metrics it wrote against docs/REFERENCES.md and reloads the component it saved.
Needs APPLIED_MLX_MIRROR (SST-2 and sentence-transformers/all-MiniLM-L6-v2); about 10-15 minutes on 2 CPU cores.
"""

import json
import os
from pathlib import Path

import pytest

from applied_mlx.data import MIRROR_VAR

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOTEBOOK = Path(__file__).resolve().parents[2] / "Day5_Sentiment" / "sentiment.ipynb"
BERT_MINI_SST2 = 0.859  # docs/REFERENCES.md: BERT-Mini (11M parameters); ours is 22.7M, BERT-Small (29M) has 0.897
BERT_SMALL_SST2 = 0.897


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    if not os.environ.get(MIRROR_VAR):
        pytest.skip(f"set {MIRROR_VAR} to a mirror of the data sets and models")
    import nbformat
    from nbclient import NotebookClient

    artifacts = tmp_path_factory.mktemp("artifacts")
    saved = {k: os.environ.get(k) for k in ("APPLIED_MLX_PROFILE", "APPLIED_MLX_ARTIFACTS")}
    os.environ.update(APPLIED_MLX_PROFILE="quick", APPLIED_MLX_ARTIFACTS=str(artifacts))
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(nb, timeout=3600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    folder = artifacts / "Day5_Sentiment"
    return folder, json.loads((folder / "metrics.json").read_text())


def test_quick_profile_reaches_the_small_bert_numbers(quick_run):
    _, metrics = quick_run
    dev = metrics["dev"]
    print(f"quick dev accuracy {dev['accuracy']:.4f} (BERT-Mini {BERT_MINI_SST2}, BERT-Small {BERT_SMALL_SST2})")
    assert metrics["n_dev"] == 872
    assert dev["accuracy"] >= BERT_MINI_SST2
    assert dev["roc_auc"] > 0.9 and dev["f1"] > 0.85


def test_fine_tuning_beats_the_tfidf_baseline(quick_run):
    _, metrics = quick_run
    assert metrics["dev"]["accuracy"] > metrics["baseline_tfidf_lr"]["accuracy"] + 0.03


def test_int8_loses_at_most_one_point(quick_run):
    # The component's int8 (per-token activations): measured +0.12 points, 99.7% of labels unchanged.
    # (quantize_dynamic's per-tensor scale lost 0.3-1.4 points depending on the batch size.)
    _, metrics = quick_run
    int8 = metrics["int8"]
    assert int8["activations"] == "per_token"
    assert int8["accuracy"] >= int8["accuracy_fp32"] - 0.01 and int8["agreement"] >= 0.99


def test_per_token_int8_does_not_depend_on_the_batch(quick_run):
    _, metrics = quick_run
    rows = metrics["int8"]["by_variant"]
    assert rows["int8 per-token, batch 1"] == rows["int8 per-token, batch 64"]


def test_calibration_is_reported_and_temperature_kept_only_if_it_helps(quick_run):
    _, metrics = quick_run
    cal = metrics["calibration"]
    assert cal["temperature"] > 0 and 0 <= cal["ece_after"] <= 1
    assert cal["temperature_used"] == (cal["ece_after"] < cal["ece_before"])


def test_saved_component_reloads_and_predicts(quick_run):
    from applied_mlx.sentiment import SentimentClassifier

    folder, metrics = quick_run
    clf = SentimentClassifier.load(folder)
    good, bad = clf.predict(["A triumph: moving, funny and beautifully acted.", "A dull, lifeless, tedious mess."])
    assert (good.label, bad.label) == ("positive", "negative")
    assert clf.config["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert clf.config["standin_for"] == "distilbert-base-uncased"
