"""Day 4 benchmarks: window views against copies, batch gathering, an LSTM training step, the linear fit.

    python benchmarks/bench_day4.py

Runs on generated data of ETTh1's shape (no download). Speeds are machine-dependent: compare ratios
within one run, not numbers across machines.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from applied_mlx import forecasting as fc
from applied_mlx.env import median_seconds


def main() -> None:
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


if __name__ == "__main__":
    main()
