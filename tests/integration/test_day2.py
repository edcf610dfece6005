"""Day 2 in the quick profile on the real hymenoptera images: the notebook end to end, then its metrics.

Needs APPLIED_MLX_MIRROR (the images) and TORCH_HOME with the ImageNet weights of ResNet18 or of
the offline stand-in (EfficientNet-Lite0). Takes minutes on a CPU.
"""

import json
import os
from pathlib import Path

import pytest

from applied_mlx.data import MIRROR_VAR

pytestmark = pytest.mark.integration
NOTEBOOK = Path(__file__).resolve().parents[2] / "Day2_ImageClassification" / "image_classification.ipynb"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not os.environ.get(MIRROR_VAR):
        pytest.skip(f"set {MIRROR_VAR} to a mirror of the data sets (and TORCH_HOME to its torch/ folder)")
    import nbformat
    from nbclient import NotebookClient

    artifacts = tmp_path_factory.mktemp("artifacts")
    os.environ.update(APPLIED_MLX_PROFILE="quick", APPLIED_MLX_ARTIFACTS=str(artifacts))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    folder = artifacts / "Day2_ImageClassification"
    return nb, folder, json.loads((folder / "metrics.json").read_text())


def test_quick_profile_trains_on_the_real_data_with_pretrained_weights(run):
    _, _, m = run
    assert m["profile"] == "quick" and m["n_train"] == 244 and m["n_val"] == 153
    # the training set's majority class (ants, 123 of 244) is right on 70 of the 153 val images
    assert m["baselines"]["majority class"] == pytest.approx(70 / 153)


def test_mean_validation_accuracy_reaches_the_target(run):
    # The quick-profile target: mean validation accuracy >= 0.95 over three seeds
    # (the tutorial's ResNet18: 0.934-0.961), for the component as saved: the last block fine-tuned,
    # predicting with test-time flipping. One view alone measured 0.943-0.950 (thread counts differ).
    _, folder, m = run
    assert m["test_time_flip"] is True and json.loads((folder / "config.json").read_text())["test_time_flip"] is True
    assert len(m["last_block_accuracy_flip"]["values"]) == 3
    assert m["accuracy_mean"] == m["last_block_accuracy_flip"]["mean"]
    assert m["accuracy_mean"] >= 0.95, m


def test_test_time_flipping_was_chosen_on_the_training_images(run):
    # The mirror view is switched on because it helps in cross-validation on the training images
    # (measured: 0.928 -> 0.940), not because of the validation set.
    _, _, m = run
    cv = m["flip_cv_on_train"]
    assert cv["flip"] > cv["single_view"] + 0.005, cv


def test_every_phase_beats_the_baselines_by_far(run):
    _, _, m = run
    best_baseline = max(m["baselines"].values())
    assert m["frozen_accuracy"]["mean"] > best_baseline + 0.15
    assert m["last_block_accuracy"]["mean"] > best_baseline + 0.15


def test_the_saved_classifier_predicts_the_real_images(run):
    from applied_mlx.data import fetch
    from applied_mlx.vision import ImageClassifier

    _, folder, m = run
    clf = ImageClassifier.load(folder)
    assert clf.class_names == ["ants", "bees"]
    val = fetch("hymenoptera") / "val"
    paths = sorted((val / "ants").glob("*"))[:10] + sorted((val / "bees").glob("*"))[:10]
    probs = clf.predict_proba(paths)
    accuracy = ((probs.argmax(1) == [0] * 10 + [1] * 10).mean())
    assert accuracy >= 0.8  # 20 images of a model at >= 0.9 overall
    assert clf.explain(paths[0]).heatmap.shape == (224, 224)
