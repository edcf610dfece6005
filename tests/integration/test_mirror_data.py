"""Every registered data set, fetched through the mirror and checked against its published shape.

Runs with `make integration` when APPLIED_MLX_MIRROR points at a mirror of the data sets.
"""

import json
import os

import pytest

from applied_mlx import data

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def mirror():
    if not os.environ.get(data.MIRROR_VAR):
        pytest.skip(f"set {data.MIRROR_VAR} to a mirror of the data sets")


def lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def test_etth1():
    path = data.fetch("ett-h1")  # checksum verified on the way
    assert lines(path) == 17_421
    assert path.read_text().splitlines()[0] == "date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT"


def test_clinc150():
    splits = json.loads(data.fetch("clinc150").read_text())
    assert {k: len(v) for k, v in splits.items()} == {
        "train": 15000, "val": 3000, "test": 4500, "oos_train": 100, "oos_val": 100, "oos_test": 1000}


def test_sst2():
    root = data.fetch("sst2")
    assert lines(root / "train.tsv") == 67_349 + 1 and lines(root / "dev.tsv") == 872 + 1


def test_movielens_100k():
    root = data.fetch("movielens-100k")
    assert (lines(root / "u.data"), lines(root / "u.item"), lines(root / "u.user")) == (100_000, 1_682, 943)


def test_squad_dev():
    squad = json.loads(data.fetch("squad-v1.1-dev").read_text())
    assert sum(len(p["qas"]) for a in squad["data"] for p in a["paragraphs"]) == 10_570


def test_hymenoptera():
    root = data.fetch("hymenoptera")  # tree digest verified on the way
    counts = {f"{s}/{c}": len(list((root / s / c).iterdir())) for s in ("train", "val") for c in ("ants", "bees")}
    assert counts == {"train/ants": 124, "train/bees": 121, "val/ants": 70, "val/bees": 83}
