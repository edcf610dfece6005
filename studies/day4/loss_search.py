"""Day 4: can the LSTM alone get below the least-squares line? The training loss, a SegRNN-style decoder,
the size of the model and a longer look-back, chosen on validation MSE; test MSE reported beside it.

The quick protocol (ETTh1, every test window, CPU, one thread). One JSON line per trained model on stdout:
its settings, the best epoch, the validation MSE of every epoch (``hist``), and validation / test MSE of the
LSTM, of the line (``fc.LinearBaseline`` at the same look-back) and of their validation-chosen blend.
studies/day4/loss_search.jsonl holds the committed run (2026-12-02, a shared 2-core CPU).

Experiments (``python studies/day4/loss_search.py EXPERIMENT``):

- ``loss``: the lesson's ``LSTMForecaster`` at the quick settings trained on the MSE and on the MAE, at every
  horizon, seeds 0-2 (this chose ``fc.settings("quick")["loss"]``);
- ``grid192``: at H=192 with the MAE, seed 0: learning rate 1e-3 over 10 epochs, hidden 128 / 32, day-long
  segments, dropout 0.6, and the SegRNN-style model at hidden 64;
- ``segrnn``: the SegRNN-style LSTM of ``lstm_variants.py`` (parallel decoding of each output segment) at H=96,
  hidden 128: last-value against RevIN normalisation, 48 / 24-hour segments, MSE against MAE; and at H=192;
- ``lookback720``: the lesson's LSTM and the line with a look-back of 720 h (the SegRNN paper's), H=96 and 192.

Usage: OMP_NUM_THREADS=1 python studies/day4/loss_search.py {loss,grid192,segrnn,lookback720}
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import torch

from applied_mlx import forecasting as fc


def _sibling(name: str):
    """A study script next to this one, loaded as a module (the studies are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_variants = _sibling("lstm_variants")
SegLSTM, blend_row, data = _variants.SegLSTM, _variants.blend_row, _variants.data

QUICK = dict(L=336, seg=48, hid=64, drop=0.3, norm="revin", lr=2e-3, bs=128, epochs=6, patience=2, model="lesson")


def run(h, L, seg, hid, drop, norm, lr, bs, epochs, patience, seed=0, loss="mse", model="lesson", wd=0.0) -> None:
    c, ds, yv, yt, lv, lt = data(h, L)
    torch.manual_seed(seed)
    if model == "seg":
        net = SegLSTM(L, h, c, seg_len=seg, hidden=hid, dropout=drop, norm=norm)
    else:
        net = fc.LSTMForecaster(L, h, c, patch_len=seg, hidden_size=hid, dropout=drop)
    t0 = time.perf_counter()
    r = fc.train_forecaster(net, ds["train"], ds["val"], seed=seed, device="cpu", progress=False, batch_size=bs,
                            num_epochs=epochs, lr=lr, patience=patience, loss=loss, weight_decay=wd)
    sec = time.perf_counter() - t0
    mv, mt = fc.predict_windows(net, ds["val"]), fc.predict_windows(net, ds["test"])
    print(json.dumps(dict(h=h, L=L, seg=seg, hid=hid, drop=drop, norm=norm, lr=lr, bs=bs, epochs=epochs, seed=seed,
                          loss=loss, model=model, wd=wd, best_epoch=r.best_epoch, seconds=round(sec, 1),
                          hist=[round(float(v), 4) for v in r.history[r.monitor]],
                          **blend_row(yv, yt, mv, mt, lv, lt))), flush=True)


EXPERIMENTS = {
    "loss": [dict(QUICK, h=h, loss=loss, seed=s) for h in fc.HORIZONS for loss in ("mae", "mse") for s in (0, 1, 2)],
    "grid192": [dict(QUICK, h=192, loss="mae", **kw) for kw in (
        dict(lr=1e-3, epochs=10, patience=3), dict(hid=128, drop=0.5, lr=1e-3, epochs=10, patience=3), dict(hid=32),
        dict(seg=24), dict(drop=0.6), dict(model="seg", drop=0.5, lr=1e-3, epochs=10, patience=3))],
    "segrnn": [dict(QUICK, model="seg", hid=128, drop=0.5, lr=1e-3, epochs=10, patience=3, **kw) for kw in (
        dict(h=96, norm="last"), dict(h=96, norm="revin"), dict(h=96, norm="last", seg=24),
        dict(h=96, norm="last", loss="mae"), dict(h=96, norm="revin", loss="mae"),
        dict(h=192, norm="last", loss="mae"))],
    "lookback720": [dict(QUICK, L=720, h=h, loss=loss) for h, loss in ((96, "mae"), (192, "mae"), (192, "mse"),
                                                                       (96, "mse"))],
}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=list(EXPERIMENTS))
    for cfg in EXPERIMENTS[parser.parse_args().experiment]:
        run(**cfg)
