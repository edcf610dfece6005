"""Day 4 on the real ETTh1 (quick profile, H=96), against the published table (docs/REFERENCES.md)."""

import os

import numpy as np
import pytest
import torch

from applied_mlx import forecasting as fc
from applied_mlx.data import MIRROR_VAR

pytestmark = pytest.mark.integration

HORIZON = 96


@pytest.fixture(scope="module")
def prepared():
    if not os.environ.get(MIRROR_VAR):
        pytest.skip(f"set {MIRROR_VAR} to a mirror of the data sets")
    cfg = fc.settings("quick")
    frame = fc.load_etth1()
    scaler, values, splits = fc.prepare(frame, cfg["lookback"])
    return cfg, frame, fc.make_datasets(values, splits, cfg["lookback"], HORIZON)


def test_protocol_reproduces_the_published_repeat_row(prepared):
    cfg, frame, ds = prepared
    assert frame.shape == (17_420, 7)
    assert len(ds["test"]) == 2880 - HORIZON + 1  # every test window
    x, y = ds["test"].arrays()
    err = fc.forecast_errors(y, fc.repeat_last(x, HORIZON))
    assert err["mse"] == pytest.approx(1.295, abs=0.005) and err["mae"] == pytest.approx(0.713, abs=0.005)


def test_linear_baseline_matches_dlinear(prepared):
    cfg, frame, ds = prepared
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    x, y = ds["test"].arrays()
    assert fc.forecast_errors(y, linear.predict(x))["mse"] <= 0.375  # DLinear (L=336): 0.375


def test_quick_lstm_alone_beats_dlinear_and_the_line_at_h96(prepared):
    """The LSTM itself, no line inside: the quick settings (the MAE loss at H=96, chosen on validation in
    studies/day4/loss_search.py), averaged over seeds 0-2. Measured: 0.3672 / 0.3647 / 0.3647, mean 0.3655,
    against DLinear's published 0.375 (0.3709 with its authors' settings in benchmarks/bench_day4.py) and the
    line's 0.3696. At H=192 the LSTM alone is not below the line (studies/day4/README.md), so no claim there."""
    cfg, frame, ds = prepared
    assert fc.training_loss(cfg, HORIZON) == "mae"
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    x, y = ds["test"].arrays()
    line = fc.forecast_errors(y, linear.predict(x))["mse"]
    mses, maes = [], []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        model = fc.LSTMForecaster(horizon=HORIZON, **fc.model_args(cfg, frame.shape[1]))
        fc.train_forecaster(model, ds["train"], ds["val"], batch_size=cfg["batch_size"],
                            num_epochs=cfg["num_epochs"], lr=cfg["lr"], patience=cfg["patience"],
                            loss=fc.training_loss(cfg, HORIZON), seed=seed, progress=False)
        err = fc.forecast_errors(y, fc.predict_windows(model, ds["test"]))
        mses.append(err["mse"]), maes.append(err["mae"])
    print(f"quick LSTM alone H={HORIZON}: test MSE {[round(m, 4) for m in mses]}, mean {np.mean(mses):.4f} "
          f"(line {line:.4f}); MAE mean {np.mean(maes):.4f}")
    assert np.mean(mses) <= 0.370  # DLinear's 0.370-0.375, PatchTST/64's 0.370
    assert np.mean(mses) < line
    assert np.mean(maes) <= 0.40  # PatchTST/64 0.400, DLinear 0.399


def test_quick_lstm_on_a_linear_highway_at_h96(prepared):
    """The LSTM as a residual on the least-squares line, the highway frozen (studies/day4/highway.py).

    At H=96 it is below the linear baseline on validation (which chose it) and on test: 0.3667 vs
    0.3696 measured. At 192/336/720 no epoch beats the untrained model on validation, so training
    gives back the linear baseline itself: no claim there.
    """
    cfg, frame, ds = prepared
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    torch.manual_seed(0)
    model = fc.LSTMForecaster(horizon=HORIZON, **{**fc.model_args(cfg, frame.shape[1]), "highway": True})
    model.init_highway_from(linear)
    result = fc.train_forecaster(model, ds["train"], ds["val"], batch_size=cfg["batch_size"],
                                 num_epochs=cfg["num_epochs"], lr=cfg["lr"], patience=cfg["patience"], highway_lr=0.0,
                                 seed=0, progress=False)
    (xv, yv), (xt, yt) = ds["val"].arrays(), ds["test"].arrays()
    val = fc.forecast_errors(yv, fc.predict_windows(model, ds["val"]))["mse"]
    err = fc.forecast_errors(yt, fc.predict_windows(model, ds["test"]))
    linear_val = fc.forecast_errors(yv, linear.predict(xv))["mse"]
    linear_test = fc.forecast_errors(yt, linear.predict(xt))["mse"]
    print(f"highway LSTM H={HORIZON}: val {val:.4f} (linear {linear_val:.4f}), test MSE {err['mse']:.4f} "
          f"(linear {linear_test:.4f}), MAE {err['mae']:.4f}; best epoch {result.best_epoch}")
    assert val <= linear_val + 1e-6  # never worse on validation: the untrained model is the baseline
    assert err["mse"] <= 0.370  # the goal (PatchTST/64 0.370); the linear baseline scores 0.3696
    assert err["mse"] < linear_test


@pytest.mark.parametrize("horizon", [96, 192, 336])
def test_quick_lstm_blended_with_the_line_beats_it(horizon):
    """The notebook's saved model: the quick LSTM and the least-squares line, mixed with the weight that
    validation picks. Measured (seed 0): weights 0.55 / 0.30 / 0.25, test MSE 0.3610 / 0.3992 / 0.4235
    against the line's 0.3696 / 0.4030 / 0.4261. At H=720 validation picks weight 0.05 and the blend is
    0.0005 below the line (0.4320 vs 0.4325): too small a margin to assert.
    """
    if not os.environ.get(MIRROR_VAR):
        pytest.skip(f"set {MIRROR_VAR} to a mirror of the data sets")
    cfg = fc.settings("quick")
    frame = fc.load_etth1()
    _, values, splits = fc.prepare(frame, cfg["lookback"])
    ds = fc.make_datasets(values, splits, cfg["lookback"], horizon)
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    torch.manual_seed(0)
    model = fc.LSTMForecaster(horizon=horizon, **fc.model_args(cfg, frame.shape[1]))
    fc.train_forecaster(model, ds["train"], ds["val"], batch_size=cfg["batch_size"], num_epochs=cfg["num_epochs"],
                        lr=cfg["lr"], patience=cfg["patience"], loss=fc.training_loss(cfg, horizon), seed=0,
                        progress=False)
    weight, curve = fc.choose_blend_weight(model, linear, ds["val"])
    blended = fc.blend_with_linear(model, linear, weight)
    xt, yt = ds["test"].arrays()
    test = fc.forecast_errors(yt, fc.predict_windows(blended, ds["test"]))["mse"]
    line = fc.forecast_errors(yt, linear.predict(xt))["mse"]
    print(f"H={horizon}: weight {weight:.2f}, val {curve[weight]:.4f} (line {curve[0.0]:.4f}), "
          f"test {test:.4f} (line {line:.4f})")
    assert 0 < weight < 1 and curve[weight] < curve[0.0]  # validation wants some of the LSTM
    assert test < line  # and it carries over to the test months
