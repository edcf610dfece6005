"""Shared fixtures of the integration tier."""

import os

import pytest


@pytest.fixture(scope="module")
def day3_cfg():
    """Day 3's quick settings with ``source``, the stand-in encoder's folder; skips without the mirror."""
    from applied_mlx import assistant as A
    from applied_mlx.data import MIRROR_VAR, resolve_model

    if not os.environ.get(MIRROR_VAR):
        pytest.skip(f"set {MIRROR_VAR} to a mirror of the data sets and the stand-in encoder")
    cfg = A.settings("quick")
    source = resolve_model(cfg["intent_model"])
    if not os.path.isdir(source):
        pytest.skip(f"the stand-in encoder {cfg['intent_model']} is not in the mirror")
    cfg["source"] = source
    return cfg
