"""Day 4 benchmarks: window views against copies, batch gathering, an LSTM training step, the linear fit;
with ``--quality``, the quick LSTM beside the least-squares line and DLinear on ETTh1.

    python benchmarks/bench_day4.py                       # speed, on generated data of ETTh1's shape
    python benchmarks/bench_day4.py --quality [--seeds 3] # test MSE on ETTh1 (needs the data; ~10 min on a CPU)

The speed part runs without a download. Speeds are machine-dependent: compare ratios within one run, not
numbers across machines. The quality part trains, for each horizon and seed, the quick profile's LSTM
(``fc.settings("quick")``, its loss included) and DLinear with the settings of its authors' ETTh1 script
(Zeng et al. 2023: a moving-average trend of 25 steps, one linear map for the trend and one for the rest,
shared by the channels; Adam, learning rate 0.005 halved every epoch, batch 32, 10 epochs, early stopping
after 3 epochs without a better validation MSE), on the same windows, and prints test MSE and MAE beside
the line (``fc.LinearBaseline``, its ridge penalty chosen on validation): mean and spread over the seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np
import torch
from torch import nn

from applied_mlx import forecasting as fc
from applied_mlx.env import median_seconds


class DLinear(nn.Module):
    """DLinear (Zeng et al., AAAI 2023): a moving-average trend and the remainder, each through one linear map
    from the look-back to the horizon, shared by the channels ("individual=False" in its code)."""

    def __init__(self, lookback: int, horizon: int, kernel: int = 25):
        super().__init__()
        self.kernel = kernel
        self.trend = nn.Linear(lookback, horizon)
        self.seasonal = nn.Linear(lookback, horizon)
        for layer in (self.trend, self.seasonal):  # the authors' initialisation: the mean of the look-back
            nn.init.constant_(layer.weight, 1.0 / lookback)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.permute(0, 2, 1)  # (B, C, L)
        pad = (self.kernel - 1) // 2  # both ends padded with their own value, as in the authors' code
        padded = torch.cat([z[..., :1].expand(-1, -1, pad), z, z[..., -1:].expand(-1, -1, pad)], dim=-1)
        trend = nn.functional.avg_pool1d(padded, self.kernel, stride=1)
        return (self.trend(trend) + self.seasonal(z - trend)).permute(0, 2, 1)


def train_dlinear(ds: dict, lookback: int, horizon: int, seed: int, epochs: int = 10, lr: float = 0.005,
                  batch_size: int = 32, patience: int = 3) -> DLinear:
    """The authors' ETTh1 recipe: Adam, MSE, lr halved after every epoch, the best validation epoch kept."""
    torch.manual_seed(seed)
    model = DLinear(lookback, horizon)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    x_val, y_val = (torch.as_tensor(a) for a in ds["val"].arrays())
    best, best_state, waited = float("inf"), None, 0
    for epoch in range(epochs):
        model.train()
        for x, y in fc.window_loader(ds["train"], batch_size, shuffle=True, seed=seed + epoch):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val = float(nn.functional.mse_loss(model(x_val), y_val))
        if val < best:
            best, best_state, waited = val, {k: v.clone() for k, v in model.state_dict().items()}, 0
        else:
            waited += 1
            if waited >= patience:
                break
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.5 ** (epoch + 1)
    model.load_state_dict(best_state)
    return model.eval()


def quality(seeds: int, horizons=(96, 192)) -> None:
    """Test MSE / MAE on ETTh1 of the line, DLinear and the quick LSTM, the same windows, several seeds."""
    cfg = fc.settings("quick")
    lookback = cfg["lookback"]
    scaler, values, splits = fc.prepare(fc.load_etth1(), lookback)
    rows = []
    for horizon in horizons:
        ds = fc.make_datasets(values, splits, lookback, horizon)
        x_test, y_test = ds["test"].arrays()
        linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
        rows.append(dict(model="linear (least squares)", horizon=horizon, seed=None,
                         **_errors(y_test, linear.predict(x_test))))
        for seed in range(seeds):
            dlinear = train_dlinear(ds, lookback, horizon, seed)
            with torch.no_grad():
                rows.append(dict(model="DLinear (authors' settings)", horizon=horizon, seed=seed,
                                 **_errors(y_test, dlinear(torch.as_tensor(x_test)).numpy())))
            torch.manual_seed(seed)
            model = fc.LSTMForecaster(horizon=horizon, **fc.model_args(cfg, values.shape[1]))
            fc.train_forecaster(model, ds["train"], ds["val"], batch_size=cfg["batch_size"],
                                num_epochs=cfg["num_epochs"], lr=cfg["lr"], patience=cfg["patience"],
                                loss=fc.training_loss(cfg, horizon), seed=seed, device="cpu", progress=False)
            rows.append(dict(model=f"LSTM (quick, {fc.training_loss(cfg, horizon).upper()} loss)", horizon=horizon,
                             seed=seed,
                             **_errors(y_test, fc.predict_windows(model, ds["test"], device="cpu"))))
            print(json.dumps(rows[-2]), json.dumps(rows[-1]), flush=True)
    print(f"\nETTh1 test, L={lookback}, every test window; mean (min-max) over {seeds} seed(s)\n")
    print("| model | H | MSE | MAE |\n|---|---|---|---|")
    for horizon in horizons:
        for name in dict.fromkeys(r["model"] for r in rows):
            mine = [r for r in rows if r["model"] == name and r["horizon"] == horizon]
            if not mine:
                continue
            mse, mae = [r["mse"] for r in mine], [r["mae"] for r in mine]
            spread = f" ({min(mse):.4f}-{max(mse):.4f})" if len(mse) > 1 else ""
            print(f"| {name} | {horizon} | {statistics.mean(mse):.4f}{spread} | {statistics.mean(mae):.4f} |")


def _errors(y: np.ndarray, pred: np.ndarray) -> dict:
    err = fc.forecast_errors(y, pred)
    return {"mse": round(err["mse"], 4), "mae": round(err["mae"], 4)}


def speed() -> None:
    lookback, horizon = 336, 720
    frame = fc.synthetic_series(14_400)
    scaler, values, splits = fc.prepare(frame, lookback)
    ds = fc.SlidingWindows(values, lookback, horizon, *splits["train"])
    copy_bytes = len(ds) * (lookback + horizon) * values.shape[1] * 4
    print(f"windows: {len(ds)} at L={lookback}, H={horizon}; a view holds {values.nbytes / 2**20:.1f} MiB "
          f"(the series), copies would hold {copy_bytes / 2**20:.0f} MiB")
    view = median_seconds(lambda: fc.SlidingWindows(values, lookback, horizon, *splits["train"]))
    copy = median_seconds(lambda: np.stack([values[i:i + lookback + horizon] for i in range(len(ds))]),
                          repeats=2)
    print(f"build all windows: view {view * 1e3:.2f} ms, copy {copy * 1e3:.0f} ms")
    idx = np.random.default_rng(0).permutation(len(ds))[:128]
    batched = median_seconds(lambda: ds[idx], repeats=50)
    one_by_one = median_seconds(lambda: torch.utils.data.default_collate([ds[int(i)] for i in idx]), repeats=10)
    print(f"gather a batch of 128: one indexing call {batched * 1e3:.2f} ms, "
          f"128 calls + collate {one_by_one * 1e3:.1f} ms")

    cfg = fc.settings("quick")
    model = fc.LSTMForecaster(horizon=96, **fc.model_args(cfg, 7))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(cfg["batch_size"], lookback, 7), torch.randn(cfg["batch_size"], 96, 7)

    def step():
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()

    per_step = median_seconds(step, repeats=10)
    n_batches = -(-fc.n_windows(8640, lookback, 96) // cfg["batch_size"])
    print(f"quick LSTM train step (batch {cfg['batch_size']}, H=96): {per_step * 1e3:.0f} ms "
          f"-> about {per_step * n_batches:.0f} s per epoch of {n_batches} batches "
          f"on {torch.get_num_threads()} threads")
    train96 = fc.SlidingWindows(values, lookback, 96, *splits["train"])
    fit = median_seconds(lambda: fc.LinearBaseline().fit(*train96.arrays()), 2)
    print(f"least-squares linear fit (H=96, all training windows): {fit:.2f} s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", action="store_true", help="train on ETTh1 and print test MSE beside the peers")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    speed()
    if args.quality:
        quality(args.seeds)


if __name__ == "__main__":
    main()
