import sys

import numpy as np
import pytest
import torch

from applied_mlx import env


@pytest.mark.parametrize("value", ["smoke", "quick", "full", " Quick "])
def test_profile_from_environment(monkeypatch, value):
    monkeypatch.setenv(env.PROFILE_VAR, value)
    assert env.get_profile() == value.strip().lower()


def test_profile_argument_wins(monkeypatch):
    monkeypatch.setenv(env.PROFILE_VAR, "full")
    assert env.get_profile("smoke") == "smoke"


@pytest.mark.parametrize("cuda, expected", [(True, "full"), (False, "quick")])
def test_profile_default_follows_the_device(monkeypatch, cuda, expected):
    monkeypatch.delenv(env.PROFILE_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert env.get_profile() == expected


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(env.PROFILE_VAR, "fast")
    with pytest.raises(ValueError, match=r"unknown profile 'fast'.*smoke, quick, full"):
        env.get_profile()


def test_device():
    assert env.get_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        expected = "mps"
    assert env.get_device().type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_missing_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        env.get_device("cuda")


def test_seed_everything_repeats_random_streams():
    env.seed_everything(7)
    first = (torch.rand(3), np.random.rand(3))
    env.seed_everything(7)
    second = (torch.rand(3), np.random.rand(3))
    assert torch.equal(first[0], second[0])
    assert np.array_equal(first[1], second[1])
    env.seed_everything(8)
    assert not torch.equal(first[0], torch.rand(3))


def test_summary_line(capsys, monkeypatch):
    monkeypatch.setenv(env.PROFILE_VAR, "smoke")
    line = env.print_summary(device=torch.device("cpu"), data="tiny")
    printed = capsys.readouterr().out
    assert printed == line + "\n" and "\n" not in line
    assert "profile=smoke" in line and "device=cpu" in line
    assert f"torch={torch.__version__}" in line and "data=tiny" in line


def test_in_colab(monkeypatch):
    assert env.in_colab() is ("google.colab" in sys.modules)
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert env.in_colab() is True


def test_median_seconds_warms_up_once_and_takes_the_median(monkeypatch):
    import time

    calls = []
    clock = iter([0.0, 0.1, 1.0, 1.3, 2.0, 2.2])  # three timed calls of 0.1, 0.3 and 0.2 s
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    value = env.median_seconds(lambda: calls.append(1), repeats=3)
    assert len(calls) == 4, "one untimed warm-up call, then the three timed ones"
    assert abs(value - 0.2) < 1e-12
