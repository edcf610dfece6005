"""Day 4: LSTM variants tried at H=720 (and 96) to beat the least-squares line on ETTh1; none did at 720.

The quick protocol (L=336, seed 0, CPU). Three experiments, one JSON line per model on stdout;
studies/day4/lstm_variants.jsonl holds the committed run (2026-11-25, a shared 2-core CPU):

- ``segrnn``: a SegRNN-style LSTM (Lin et al. 2023): segments embedded, an LSTM encoder, then every
  output segment decoded in parallel by one more LSTM step from a position + channel embedding
  (hidden 256, dropout 0.5, last-value normalisation), at H=96 and 720;
- ``grid``: the lesson's ``LSTMForecaster`` at H=720 with hidden 32 / 128, segments 24 / 48 / 112 h,
  weight decay 0 / 0.05; each also blended with the line (weight chosen on validation);
- ``bag``: the quick LSTM averaged over 5 seeds at H=720 and 336, then blended with the line.

Usage: OMP_NUM_THREADS=2 python studies/day4/lstm_variants.py {segrnn,grid,bag}
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np
import torch
from torch import nn

from applied_mlx import forecasting as fc


class SegLSTM(nn.Module):
    def __init__(self, lookback, horizon, num_channels, seg_len=48, hidden=256, dropout=0.5, norm="last"):
        super().__init__()
        assert lookback % seg_len == 0 and horizon % seg_len == 0
        self.L, self.H, self.C, self.seg, self.d, self.norm = lookback, horizon, num_channels, seg_len, hidden, norm
        self.revin = fc.RevIN(num_channels) if norm == "revin" else None
        self.embed = nn.Sequential(nn.Linear(seg_len, hidden), nn.ReLU())
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        m = horizon // seg_len
        self.pos = nn.Parameter(torch.randn(m, hidden // 2))
        self.chan = nn.Parameter(torch.randn(num_channels, hidden // 2))
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, seg_len))

    def forward(self, x):
        b, L, c = x.shape
        if self.revin is not None:
            x, stats = self.revin.normalize(x)
        last = x[:, -1:, :].detach() if self.norm == "last" else 0
        x = x - last
        s = x.permute(0, 2, 1).reshape(b * c, L // self.seg, self.seg)
        _, (h, cc) = self.lstm(self.embed(s))  # (1, b*c, d)
        m = self.H // self.seg
        dec_in = torch.cat([self.pos[None, :, :].expand(c, m, -1),
                            self.chan[:, None, :].expand(c, m, -1)], -1)  # (c, m, d)
        dec_in = dec_in[None].expand(b, c, m, self.d).reshape(b * c * m, 1, self.d)
        h = h.repeat_interleave(m, dim=1)
        cc = cc.repeat_interleave(m, dim=1)
        y, _ = self.lstm(dec_in, (h, cc))  # (b*c*m, 1, d)
        y = self.out(y[:, 0]).reshape(b, c, self.H).permute(0, 2, 1)
        y = y + last
        if self.revin is not None:
            y = self.revin.denormalize(y, stats)
        return y



def blend_row(yv, yt, mv, mt, lv, lt) -> dict:
    """The validation-chosen blend of an LSTM's and the line's forecasts, and the test MSE of each part."""
    rows = [(w, fc.forecast_errors(yv, w * mv + (1 - w) * lv)["mse"],
             fc.forecast_errors(yt, w * mt + (1 - w) * lt)["mse"]) for w in np.linspace(0, 1, 21)]
    best = min(rows, key=lambda r: r[1])
    return dict(lstm_val=round(rows[-1][1], 4), lstm_test=round(rows[-1][2], 4), linear_val=round(rows[0][1], 4),
                linear_test=round(rows[0][2], 4), blend_w=round(best[0], 2), blend_val=round(best[1], 4),
                blend_test=round(best[2], 4))


def data(horizon: int, lookback: int = 336):
    scaler, values, splits = fc.prepare(fc.load_etth1(), lookback)
    ds = fc.make_datasets(values, splits, lookback, horizon)
    (xv, yv), (xt, yt) = ds["val"].arrays(), ds["test"].arrays()
    linear, _ = fc.fit_linear_baseline(ds["train"], ds["val"])
    return values.shape[1], ds, yv, yt, linear.predict(xv), linear.predict(xt)


def train(model, ds, seed=0, **kw):
    t0 = time.perf_counter()
    result = fc.train_forecaster(model, ds["train"], ds["val"], seed=seed, device="cpu", progress=False, **kw)
    return result, fc.predict_windows(model, ds["val"]), fc.predict_windows(model, ds["test"]), time.perf_counter() - t0


def segrnn() -> None:
    for h in (96, 720):
        c, ds, yv, yt, lv, lt = data(h)
        torch.manual_seed(0)
        model = SegLSTM(336, h, c, seg_len=48, hidden=256, dropout=0.5, norm="last")
        r, mv, mt, sec = train(model, ds, batch_size=128, num_epochs=8, lr=1e-3, patience=3)
        print(json.dumps(dict(experiment="segrnn", h=h, best_epoch=r.best_epoch, seconds=round(sec, 1),
                              **blend_row(yv, yt, mv, mt, lv, lt))), flush=True)


def grid() -> None:
    c, ds, yv, yt, lv, lt = data(720)
    for hid, patch, wd in itertools.product([32, 128], [24, 48, 112], [0.0, 0.05]):
        torch.manual_seed(0)
        model = fc.LSTMForecaster(336, 720, c, patch_len=patch, hidden_size=hid, dropout=0.5)
        r, mv, mt, sec = train(model, ds, batch_size=128, num_epochs=8, lr=1e-3, patience=2, weight_decay=wd)
        print(json.dumps(dict(experiment="grid", h=720, hidden=hid, patch=patch, weight_decay=wd,
                              best_epoch=r.best_epoch, seconds=round(sec, 1), **blend_row(yv, yt, mv, mt, lv, lt))),
              flush=True)


def bag(seeds: int = 5) -> None:
    cfg = fc.settings("quick")
    for h in (720, 336):
        c, ds, yv, yt, lv, lt = data(h)
        mvs, mts, single = [], [], []
        for s in range(seeds):
            torch.manual_seed(s)
            model = fc.LSTMForecaster(horizon=h, **fc.model_args(cfg, c))
            _, mv, mt, _ = train(model, ds, seed=s, batch_size=cfg["batch_size"], num_epochs=cfg["num_epochs"],
                                 lr=cfg["lr"], patience=cfg["patience"])
            mvs.append(mv), mts.append(mt), single.append(round(fc.forecast_errors(yt, mt)["mse"], 4))
        print(json.dumps(dict(experiment="bag", h=h, seeds=seeds, single_seed_test=single,
                              **blend_row(yv, yt, np.mean(mvs, 0), np.mean(mts, 0), lv, lt))), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=["segrnn", "grid", "bag"])
    {"segrnn": segrnn, "grid": grid, "bag": bag}[parser.parse_args().experiment]()
