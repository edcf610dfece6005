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
    # The quick-profile bar: mean validation accuracy >= 0.95 over three seeds
    # (the tutorial's ResNet18: 0.934-0.961), for the component as saved: the last block fine-tuned,
    # predicting with test-time flipping, at the resolution chosen on the training images (320 pixels
    # for the stand-in). Measured 0.952 (per seed 0.954 / 0.948 / 0.954); at 224 pixels it was 0.948.
    _, folder, m = run
    assert m["test_time_flip"] is True and json.loads((folder / "config.json").read_text())["test_time_flip"] is True
    assert len(m["last_block_accuracy_flip"]["values"]) == 3
    assert m["accuracy_mean"] == m["last_block_accuracy_flip"]["mean"]
    assert m["accuracy_mean"] >= 0.95, m


def test_the_choices_made_on_the_training_images_are_the_components(run):
    # Resolution and test-time flipping were chosen by cross-validation on the training images
    # (studies/day2/resolution_cv.py, too slow for the notebook); the artifact must carry them, and
    # the notebook's own cross-validation of the frozen phase must have run and scored a working model.
    _, folder, m = run
    config = json.loads((folder / "config.json").read_text())
    assert config["preprocessing"]["crop"] == (320 if m["backbone"] == "efficientnet_lite0" else 224)
    cv = m["flip_cv_on_train"]
    # at 320 pixels the mirror view no longer helps the frozen phase (measured 0.954 one view, 0.951 with
    # it); both far above the baselines, i.e. a real cross-validation of a working model
    assert 0.9 < cv["single_view"] <= 1 and 0.9 < cv["flip"] <= 1, cv


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
    crop = clf.preprocessing.crop
    assert clf.explain(paths[0]).heatmap.shape == (crop, crop)
