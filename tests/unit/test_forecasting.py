import json
import resource
import shutil
import time

import numpy as np
import pandas as pd
import pytest
import torch
from artifact_edits import DROP, edited_copy

from applied_mlx import forecasting as fc
from applied_mlx.artifacts import ArtifactError, Component, as_dict


def test_protocol_splits_match_the_published_borders():
    splits = fc.protocol_splits(17_420, lookback=336)
    assert splits == {"train": (0, 8640), "val": (8640 - 336, 11520), "test": (11520 - 336, 14400)}
    small = fc.protocol_splits(1000, lookback=48)  # 60/20/20 when the series is shorter than ETTh1's split
    assert small == {"train": (0, 600), "val": (552, 800), "test": (752, 1000)}
    with pytest.raises(ValueError, match="needs 14400 rows"):
        fc.protocol_splits(1000, 48, sizes=fc.ETT_SPLIT)
    with pytest.raises(ValueError, match="lookback"):
        fc.protocol_splits(1000, 0)


@pytest.mark.parametrize("horizon", [96, 192, 336, 720])
def test_window_counts_and_no_dropped_test_window(horizon):
    lookback = 336
    values = np.zeros((14_400, 7), dtype=np.float32)
    ds = fc.make_datasets(values, fc.protocol_splits(14_400, lookback), lookback, horizon)
    assert len(ds["train"]) == 8640 - lookback - horizon + 1
    assert len(ds["val"]) == len(ds["test"]) == 2880 - horizon + 1  # the published test-set sizes
    loader = fc.window_loader(ds["test"], batch_size=1000)  # 2785 windows at H=96: a partial last batch
    assert sum(x.shape[0] for x, _ in loader) == len(ds["test"])
    # every test row is the target of at least one window; the last window ends on the last row
    covered = set()
    for i in (0, len(ds["test"]) - 1):
        covered |= set(ds["test"].target_rows(i))
    assert min(covered) == 11520 and max(covered) == 14399


def test_no_target_crosses_a_split_border():
    lookback, horizon = 48, 24
    values = np.arange(1000, dtype=np.float32)[:, None].repeat(2, axis=1)  # value = row number
    splits = fc.protocol_splits(1000, lookback)
    ds = fc.make_datasets(values, splits, lookback, horizon)
    for name, (start, end) in splits.items():
        x, y = ds[name].arrays()
        own_rows = start + lookback  # targets may only lie in [start + lookback, end)
        assert y.min() >= own_rows and y.max() < end, name
        assert x.min() >= start
    assert ds["train"].arrays()[1].max() < splits["train"][1]  # no training target in val or test
    assert ds["val"].arrays()[1].min() == splits["train"][1]  # val targets start right after train
    assert ds["test"].arrays()[1].min() == splits["val"][1]


def test_windows_are_views_with_the_right_contents():
    values = np.arange(40, dtype=np.float32).reshape(20, 2)  # row r holds (2r, 2r+1)
    ds = fc.SlidingWindows(values, lookback=4, horizon=3, start=2, end=20)
    assert len(ds) == 18 - 7 + 1
    x, y = ds[1]
    assert x.shape == (4, 2) and y.shape == (3, 2)
    assert x[:, 0].tolist() == [6, 8, 10, 12] and y[:, 1].tolist() == [15, 17, 19]
    xb, yb = ds[[0, 5]]
    assert xb.shape == (2, 4, 2) and torch.equal(xb[1], ds[5][0])
    # no per-window copy: the windows share the series' memory
    assert ds.windows.untyped_storage().data_ptr() == ds.series.untyped_storage().data_ptr()
    ax, _ = ds.arrays()
    assert np.shares_memory(ax, ds.series.numpy())
    with pytest.raises(ValueError, match="no window"):
        fc.SlidingWindows(values, lookback=15, horizon=10)


def test_scaler_fits_train_rows_only_and_round_trips():
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = fc.StandardScaler.fit(train)
    assert scaler.mean.tolist() == [2.0, 5.0] and scaler.std.tolist() == [1.0, 1.0]  # constant column: std 1
    later = np.array([[100.0, 7.0]])
    assert scaler.transform(later).tolist() == [[98.0, 2.0]]  # the later rows do not move the statistics
    again = fc.StandardScaler.from_dict(scaler.to_dict())
    assert np.allclose(again.inverse_transform(again.transform(later)), later)
    with pytest.raises(ValueError, match="2-D"):
        fc.StandardScaler.fit([1.0, 2.0])


def test_baselines_by_hand():
    x = np.arange(48, dtype=np.float32).reshape(1, 48, 1)
    assert fc.repeat_last(x, 3)[0, :, 0].tolist() == [47, 47, 47]
    assert fc.seasonal_naive(x, 26)[0, :, 0].tolist() == list(range(24, 48)) + [24, 25]
    with pytest.raises(ValueError, match="season"):
        fc.seasonal_naive(x[:, :10], 5)


def test_linear_baseline_recovers_a_linear_rule():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6, 2))
    w = rng.normal(size=(6, 3))
    y = np.einsum("nlc,lh->nhc", x - x[:, -1:], w) + x[:, -1:] + 0.5
    model = fc.LinearBaseline(alpha=1e-9).fit(x, y, chunk=37)  # several chunks
    assert np.allclose(model.predict(x), y, atol=1e-4)


def test_revin_round_trip_and_shapes():
    model = fc.LSTMForecaster(lookback=48, horizon=12, num_channels=3, patch_len=12, hidden_size=8)
    x = torch.randn(5, 48, 3) * 10 + 50
    z, stats = model.revin.normalize(x)
    assert torch.allclose(z.mean(1), torch.zeros(5, 3), atol=1e-4)
    assert torch.allclose(model.revin.denormalize(z, stats), x, atol=1e-3)
    assert model(x).shape == (5, 12, 3)
    with pytest.raises(ValueError, match="multiple of patch_len"):
        fc.LSTMForecaster(lookback=50, horizon=12, num_channels=3, patch_len=12)


def test_training_lowers_the_loss_on_a_daily_cycle():
    frame = fc.synthetic_series(600, columns=("a", "b"), seed=1)
    scaler = fc.StandardScaler.fit(frame.values[:360])
    ds = fc.make_datasets(scaler.transform(frame.values), fc.protocol_splits(600, 48), 48, 24)
    torch.manual_seed(0)
    model = fc.LSTMForecaster(48, 24, 2, patch_len=12, hidden_size=16, dropout=0.0)
    before = fc.forecast_errors(ds["val"].arrays()[1], fc.predict_windows(model, ds["val"]))["mse"]
    result = fc.train_forecaster(model, ds["train"], ds["val"], num_epochs=4, lr=1e-2, batch_size=32, progress=False)
    after = fc.forecast_errors(ds["val"].arrays()[1], fc.predict_windows(model, ds["val"]))["mse"]
    assert after < 0.5 * before
    assert result.best_score == pytest.approx(after, rel=1e-4)


def _daily(n=600, lookback=48, horizon=24):
    frame = fc.synthetic_series(n, columns=("a", "b"), seed=1)
    scaler = fc.StandardScaler.fit(frame.values[:int(n * 0.6)])
    return fc.make_datasets(scaler.transform(frame.values), fc.protocol_splits(n, lookback), lookback, horizon)


def test_untrained_highway_model_is_the_linear_baseline():
    ds = _daily()
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    torch.manual_seed(0)
    model = fc.LSTMForecaster(48, 24, 2, patch_len=12, hidden_size=8, highway=True).init_highway_from(linear)
    with torch.no_grad():  # a trained RevIN affine map changes nothing: the highway is invariant to it
        model.revin.weight.fill_(1.7), model.revin.bias.fill_(-0.3)
    x = ds["test"].arrays()[0]
    assert np.allclose(fc.predict_windows(model, ds["test"]), linear.predict(x), atol=1e-5)
    with pytest.raises(ValueError, match="highway=False"):
        fc.LSTMForecaster(48, 24, 2, patch_len=12, hidden_size=8).init_highway_from(linear)
    with pytest.raises(ValueError, match="horizon 12"):
        fc.LSTMForecaster(48, 12, 2, patch_len=12, hidden_size=8, highway=True).init_highway_from(linear)


def test_frozen_highway_and_epoch_zero_kept_when_training_does_not_help():
    ds = _daily()
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    torch.manual_seed(0)
    model = fc.LSTMForecaster(48, 24, 2, patch_len=12, hidden_size=8, highway=True).init_highway_from(linear)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    # an absurd learning rate: every epoch is worse than the untrained model (= the linear baseline)
    result = fc.train_forecaster(model, ds["train"], ds["val"], num_epochs=2, lr=5.0, highway_lr=0.0,
                                 batch_size=32, patience=None, progress=False)
    assert result.best_epoch == 0 and result.best_score == pytest.approx(result.initial_score)
    assert result.history["val_loss"].min() > result.initial_score
    assert all(torch.equal(v, start[k]) for k, v in model.state_dict().items())  # the untrained weights are back
    assert np.allclose(fc.predict_windows(model, ds["test"]), linear.predict(ds["test"].arrays()[0]), atol=1e-5)


def test_highway_training_with_a_frozen_highway_leaves_it_unchanged():
    ds = _daily()
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    torch.manual_seed(0)
    model = fc.LSTMForecaster(48, 24, 2, patch_len=12, hidden_size=8, highway=True).init_highway_from(linear)
    weight = model.highway.weight.detach().clone()
    fc.train_forecaster(model, ds["train"], ds["val"], num_epochs=1, lr=1e-3, highway_lr=0.0, batch_size=32,
                        progress=False)
    assert torch.equal(model.highway.weight, weight)


@pytest.fixture
def saved(tmp_path):
    frame = fc.synthetic_series(400, columns=("a", "b"), seed=2)
    scaler = fc.StandardScaler.fit(frame.values[:240])
    args = dict(lookback=48, num_channels=2, patch_len=12, hidden_size=8)
    torch.manual_seed(0)
    models = {24: fc.LSTMForecaster(horizon=24, **args), 48: fc.LSTMForecaster(horizon=48, **args)}
    fc.save_forecaster(tmp_path / "fc", models, scaler=scaler, columns=["a", "b"], lookback=48, model_args=args,
                       metrics={"test_mse": 1.0}, profile="smoke", data="synthetic")
    return tmp_path / "fc", frame, models, scaler


def test_forecaster_round_trip_gives_the_same_forecast(saved):
    directory, frame, models, scaler = saved
    forecaster = fc.Forecaster.load(directory)
    assert forecaster.horizons == [24, 48] and forecaster.lookback == 48
    history = frame.iloc[:100]
    out = forecaster.forecast(history, 30)  # served by the 48-step model, cut to 30
    assert list(out.columns) == ["a", "b"] and len(out) == 30
    assert out.index[0] == history.index[-1] + pd.Timedelta(hours=1) and out.index.freq == "h"
    with torch.no_grad():
        direct = models[48].eval()(torch.as_tensor(scaler.transform(history.values[-48:]))[None])[0, :30]
    assert np.allclose(out.values, scaler.inverse_transform(direct.numpy()), atol=1e-5)  # original units
    from_array = forecaster.forecast(history.values, 24)
    assert from_array.index.tolist() == list(range(100, 124))
    assert np.allclose(from_array.values, forecaster.forecast(history, 24).values)
    extra = history.assign(other=1.0)[["other", "b", "a"]]  # extra and reordered columns are fine
    assert np.allclose(forecaster.forecast(extra, 24).values, from_array.values)


def test_forecaster_rejects_bad_input(saved):
    directory, frame, _, _ = saved
    forecaster = fc.Forecaster.load(directory)
    good = frame.iloc[:60]
    with pytest.raises(ValueError, match="at least 48"):
        forecaster.forecast(frame.iloc[:47], 24)
    with pytest.raises(ValueError, match=r"lacks the columns \['b'\]"):
        forecaster.forecast(good[["a"]], 24)
    with pytest.raises(ValueError, match="NaN or infinite"):
        forecaster.forecast(good.assign(a=good["a"].where(good.index != good.index[-1])), 24)
    with pytest.raises(ValueError, match="NaN or infinite"):
        forecaster.forecast(np.where(np.arange(60)[:, None] == 30, np.inf, good.values), 24)
    with pytest.raises(ValueError, match="beyond what was trained: at most 48"):
        forecaster.forecast(good, 49)
    with pytest.raises(ValueError, match="positive int"):
        forecaster.forecast(good, 0)
    with pytest.raises(ValueError, match="irregular"):
        forecaster.forecast(good.drop(good.index[10]), 24)
    with pytest.raises(ValueError, match="irregular"):
        forecaster.forecast(good.set_axis(pd.date_range("2020-01-01", periods=60, freq="30min")), 24)
    with pytest.raises(ValueError, match="DatetimeIndex"):
        forecaster.forecast(good.reset_index(drop=True), 24)
    with pytest.raises(ValueError, match=r"shape \(rows, 2\)"):
        forecaster.forecast(good.values[:, :1], 24)
    with pytest.raises(ValueError, match="numeric array"):
        forecaster.forecast([["x", "y"]] * 60, 24)


def test_highway_forecaster_round_trips(tmp_path):
    frame = fc.synthetic_series(400, columns=("a", "b"), seed=2)
    scaler = fc.StandardScaler.fit(frame.values[:240])
    args = dict(lookback=48, num_channels=2, patch_len=12, hidden_size=8, highway=True)
    torch.manual_seed(0)
    model = fc.LSTMForecaster(horizon=24, **args)
    with torch.no_grad():  # non-zero everywhere, so that a lost highway or head would show
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    directory = fc.save_forecaster(tmp_path / "hw", {24: model}, scaler=scaler, columns=["a", "b"], lookback=48,
                                   model_args=args)
    from applied_mlx.artifacts import load_artifact

    assert load_artifact(directory, component=fc.COMPONENT).config["models"]["24"]["highway"] is True
    forecaster = fc.Forecaster.load(directory)
    assert forecaster.models[24].highway is not None
    history = frame.iloc[:100]
    with torch.no_grad():
        direct = model.eval()(torch.as_tensor(scaler.transform(history.values[-48:]))[None])[0]
    assert np.allclose(forecaster.forecast(history, 24).values, scaler.inverse_transform(direct.numpy()), atol=1e-5)


def test_loading_checks_the_artifact(saved, tmp_path):
    directory, *_ = saved
    with pytest.raises(ArtifactError, match="no artifact folder"):
        fc.Forecaster.load(tmp_path / "missing")
    (directory / "model.safetensors").unlink()
    with pytest.raises(ArtifactError, match="lacks model.safetensors"):
        fc.Forecaster.load(directory)


def _trained_plain(ds, horizon=24):
    torch.manual_seed(0)
    model = fc.LSTMForecaster(48, horizon, 2, patch_len=12, hidden_size=8)
    fc.train_forecaster(model, ds["train"], ds["val"], num_epochs=1, lr=1e-2, batch_size=32, progress=False)
    return model


def test_blend_is_the_weighted_mean_of_the_lstm_and_the_line():
    ds = _daily()
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    model = _trained_plain(ds)
    x = ds["test"].arrays()[0]
    lstm, line = fc.predict_windows(model, ds["test"]), linear.predict(x)
    assert np.abs(lstm - line).mean() > 1e-2  # else the test below proves nothing
    for w in (0.0, 0.3, 1.0):
        blended = fc.blend_with_linear(model, linear, w)
        assert blended.blend_weight.item() == pytest.approx(w)
        assert np.allclose(fc.predict_windows(blended, ds["test"]), w * lstm + (1 - w) * line, atol=1e-4)
    assert not any(p.requires_grad for p in blended.highway.parameters())  # the solved map stays as solved
    assert fc.predict_windows(model, ds["test"]) == pytest.approx(lstm)  # the source model is untouched


def test_blend_rejects_what_it_cannot_combine():
    ds = _daily()
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    model = fc.LSTMForecaster(48, 24, 2, patch_len=12, hidden_size=8)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], got 1.5"):
        fc.blend_with_linear(model, linear, 1.5)
    with pytest.raises(ValueError, match="plain LSTMForecaster"):
        fc.blend_with_linear(fc.LSTMForecaster(48, 24, 2, patch_len=12, hidden_size=8, highway=True), linear, 0.5)
    with pytest.raises(ValueError, match="horizon 12"):
        fc.blend_with_linear(fc.LSTMForecaster(48, 12, 2, patch_len=12, hidden_size=8), linear, 0.5)
    with pytest.raises(ValueError, match="not both"):
        fc.LSTMForecaster(48, 24, 2, patch_len=12, highway=True, blend=True)


def test_choose_blend_weight_picks_the_validation_minimum():
    ds = _daily()
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    model = _trained_plain(ds)
    weight, curve = fc.choose_blend_weight(model, linear, ds["val"], steps=11)
    assert len(curve) == 11 and curve.index[0] == 0.0 and curve.index[-1] == 1.0
    assert weight == curve.idxmin() and curve[weight] == curve.min()
    x, y = ds["val"].arrays()
    assert curve[0.0] == pytest.approx(fc.forecast_errors(y, linear.predict(x))["mse"], rel=1e-9)
    assert curve[1.0] == pytest.approx(fc.forecast_errors(y, fc.predict_windows(model, ds["val"]))["mse"], rel=1e-9)


def test_blended_forecaster_round_trips_and_save_checks_the_arguments(tmp_path):
    ds = _daily()
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    blended = fc.blend_with_linear(_trained_plain(ds), linear, 0.4)
    frame = fc.synthetic_series(400, columns=("a", "b"), seed=2)
    scaler = fc.StandardScaler.fit(frame.values[:240])
    args = dict(lookback=48, num_channels=2, patch_len=12, hidden_size=8)
    with pytest.raises(ValueError, match="other arguments than model_args.*blend"):
        fc.save_forecaster(tmp_path / "bad", {24: blended}, scaler=scaler, columns=["a", "b"], lookback=48,
                           model_args=args)
    directory = fc.save_forecaster(tmp_path / "blend", {24: blended}, scaler=scaler, columns=["a", "b"],
                                   lookback=48, model_args={**args, "blend": True})
    forecaster = fc.Forecaster.load(directory)
    assert forecaster.models[24].blend_weight.item() == pytest.approx(0.4)
    history = frame.iloc[:100]
    with torch.no_grad():
        direct = blended.eval()(torch.as_tensor(scaler.transform(history.values[-48:]))[None])[0]
    assert np.allclose(forecaster.forecast(history, 24).values, scaler.inverse_transform(direct.numpy()), atol=1e-5)


# The component contract --------------------------------------------------------------------



def test_the_forecaster_is_a_component_and_its_models_keep_their_config(saved, tmp_path):
    directory, frame, models, _ = saved
    forecaster = fc.Forecaster.load(directory)
    assert isinstance(forecaster, Component) and fc.Forecaster.COMPONENT == "forecaster"
    assert not hasattr(fc, "LSTM_DEFAULTS")  # the arguments come from the model, not from the signature
    expected = fc.LSTMConfig(lookback=48, horizon=24, num_channels=2, patch_len=12, hidden_size=8)
    assert models[24].config == expected and forecaster.models[24].config == expected
    config = json.loads((directory / "config.json").read_text())
    assert config["models"]["24"] == as_dict(expected) and config["models"]["48"]["horizon"] == 48
    assert fc.LSTMForecaster.from_config(expected).config == expected
    assert forecaster.metrics == {"test_mse": 1.0}
    again = fc.Forecaster.load(forecaster.save(tmp_path / "again", profile="smoke"))
    assert again.metrics == {"test_mse": 1.0} and again.horizons == [24, 48]
    history = frame.iloc[:100]
    assert np.array_equal(again.forecast(history, 48).values, forecaster.forecast(history, 48).values)


def test_save_refuses_models_that_do_not_fit_the_forecaster(saved, tmp_path):
    _, _, models, scaler = saved
    with pytest.raises(ValueError, match="the H=24 model forecasts 24 steps from 48 rows of 2 channels; expected 24 "
                                         "from 96 of 2"):
        fc.save_forecaster(tmp_path / "x", {24: models[24]}, scaler=scaler, columns=["a", "b"], lookback=96)
    with pytest.raises(ValueError, match="the H=48 model forecasts 24 steps"):
        fc.save_forecaster(tmp_path / "x", {48: models[24]}, scaler=scaler, columns=["a", "b"], lookback=48)
    with pytest.raises(ValueError, match="may not set lookback"):
        fc.Forecaster(models, scaler, ["a", "b"], 48).save(tmp_path / "x", lookback=3)


@pytest.mark.parametrize("dotted, value, message", [
    ("models", [1], "the field 'models' must be dict"),
    ("models", {}, "the field 'models' holds no model"),
    ("models", DROP, "lacks the field 'models'"),
    ("models.24", 5, r"the field 'models\.24' must be dict"),
    ("models.24.lookback", DROP, "lacks the field 'lookback'"),
    ("models.24.hidden_size", "8", r"config.json: field models\.24\.hidden_size must be a whole number"),
    ("models.24.highway", "no", r"\.highway must be true or false"),
    ("models.24.num_layers", 100_000, "num_layers must be at most 16"),
    ("models.24.patch_len", 0, "patch_len must be > 0"),
    ("models.24.horizon", 12, r"the field 'models\.24' describes a model of horizon 12"),
    ("models.24.lookback", 96, r"'models\.24' has lookback 96 and num_channels 2; the forecaster has lookback 48"),
    ("columns", "ab", "the field 'columns' must be list"),
    ("columns", ["a", "a"], "must be distinct column names"),
    ("lookback", 4.5, "the field 'lookback' must be int"),
    ("freq", "every so often", "'freq' is 'every so often', not a pandas frequency"),
    ("scaler.std", [1.0, 0.0], "std finite and > 0"),
    ("scaler.mean", [1.0, 2.0, 3.0], "mean and std need one value per column, got 3 and 2"),
    ("scaler", "standard", "the field 'scaler' must be dict"),
])
def test_every_fault_in_config_json_is_an_artifact_error_naming_the_field(saved, tmp_path, dotted, value, message):
    folder = edited_copy(saved[0], tmp_path / "art", dotted, value)
    with pytest.raises(ArtifactError, match=message):
        fc.Forecaster.load(folder)


def test_a_huge_size_in_config_json_fails_fast_without_allocating(saved, tmp_path):
    # hidden_size 20 million: an LSTM of 1.6e15 weights, compared with the file's header on the meta device
    folder = edited_copy(saved[0], tmp_path / "art", "models.24.hidden_size", 20_000_000)
    before, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    with pytest.raises(ArtifactError, match=r"h24\.lstm\.weight_hh_l0: saved \(32, 8\), model \(80000000, 20000000\)"):
        fc.Forecaster.load(folder)
    assert time.perf_counter() - start < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # kB


def test_weights_of_another_shape_or_truncated_are_artifact_errors(saved, tmp_path):
    folder = edited_copy(saved[0], tmp_path / "highway", "models.48.highway", True)
    with pytest.raises(ArtifactError, match=r"missing from the file: h48\.highway\.bias, h48\.highway\.weight"):
        fc.Forecaster.load(folder)
    cut = shutil.copytree(saved[0], tmp_path / "cut")
    data = (cut / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(data[:-100])
    with pytest.raises(ArtifactError, match="model.safetensors is truncated"):
        fc.Forecaster.load(cut)


# Values the model's float32 arithmetic cannot take -------------------------------------------

def test_a_huge_finite_history_is_refused_instead_of_forecasting_nan(saved):
    forecaster = fc.Forecaster.load(saved[0])
    # 1e39 is a finite float64 but past float32's 3.4e38 once standardised: the forecast was all NaN
    with pytest.raises(ValueError, match="beyond what the scaler and the model can take: standardised with the "
                                         r"training statistics they reach .*, past the model's float32 range"):
        forecaster.forecast(np.full((60, 2), 1e39), 24)
    # 1e30 fits float32, but its spread over the window does not (RevIN squares it): NaN again
    swinging = np.where(np.arange(60)[:, None] % 2 == 0, 1e30, -1e30) * np.ones((1, 2))
    with pytest.raises(ValueError, match="beyond what the model can take: its float32 arithmetic overflows"):
        forecaster.forecast(swinging, 24)
    level = forecaster.forecast(np.full((60, 2), 1e6), 24)  # large but representable: a finite answer
    assert np.isfinite(level.values).all()


def test_load_csv_reads_any_regular_series_and_refuses_bad_files(tmp_path):
    frame = fc.synthetic_series(50, columns=("load", "temp"))
    good = tmp_path / "good.csv"
    frame.reset_index().rename(columns={"date": "time"}).assign(site="a").to_csv(good, index=False)
    loaded = fc.load_csv(good, target="temp")  # the first column is the time; the text column is dropped
    assert list(loaded.columns) == ["load", "temp"] and loaded.index.name == "date"
    assert np.allclose(loaded.to_numpy(), frame.to_numpy()) and fc.frequency(loaded) == "h"
    assert fc.load_dataset(str(good), target="temp")[1] == "good.csv"
    assert fc.load_dataset("ETTh1", data="synthetic", n_rows=30)[0].shape == (30, 7)
    cases = {"no such CSV": tmp_path / "missing.csv",
             "no numeric column 'OT'": good,
             "does not hold timestamps": frame.reset_index(drop=True).assign(date="x"),
             "missing values": frame.assign(load=np.nan),
             "regular steps": frame.drop(frame.index[5]),
             "at least 3 rows": frame.iloc[:2]}
    for message, case in cases.items():
        if isinstance(case, pd.DataFrame):
            path = tmp_path / "bad.csv"
            (case.reset_index() if "date" not in case.columns else case[["date", "load"]]).to_csv(path, index=False)
            case = path
        with pytest.raises(ValueError, match=message):
            fc.load_csv(case, target="OT" if message.startswith("no numeric") else None)
