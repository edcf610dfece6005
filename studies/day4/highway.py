"""Day 4: does an LSTNet-style linear highway make the LSTM beat the least-squares baseline on ETTh1?

The quick profile's settings (``fc.settings("quick")``), the benchmark protocol, seed 0, on the CPU.
For each horizon: the ridge-on-validation ``LinearBaseline``, then the chosen variants of
``LSTMForecaster`` trained with ``fc.train_forecaster``:

- ``plain``: the lesson's LSTM (no highway);
- ``hw``: highway initialised from the least-squares solution, trained at the LSTM's learning rate;
- ``hw10``: the same, the highway at a tenth of it;
- ``hwfrozen``: the highway frozen (only the LSTM residual learns).

Validation MSE chooses (the epoch, and the variant); test MSE/MAE are reported beside it.
One JSON line per model and horizon on stdout (studies/day4/highway.jsonl holds the committed run).

Usage: OMP_NUM_THREADS=1 python studies/day4/highway.py --horizons 96,192,336,720 \
           --variants hwfrozen,hw10,plain [--lr 5e-4]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from applied_mlx import forecasting as fc

HIGHWAY_LR = {"plain": None, "hw": None, "hw10": 0.1, "hwfrozen": 0.0}  # times the LSTM's learning rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", default="96")
    parser.add_argument("--variants", default="hwfrozen,hw10,hw,plain")
    parser.add_argument("--lr", type=float, default=None, help="the LSTM's peak learning rate (default: quick's)")
    args = parser.parse_args()
    cfg = fc.settings("quick")
    cfg["lr"] = args.lr or cfg["lr"]
    scaler, values, splits = fc.prepare(fc.load_etth1(), cfg["lookback"])
    for h in (int(v) for v in args.horizons.split(",")):
        ds = fc.make_datasets(values, splits, cfg["lookback"], h)
        (xv, yv), (xt, yt) = ds["val"].arrays(), ds["test"].arrays()
        linear, alpha = fc.fit_linear_baseline(ds["train"], ds["val"])
        val, test = fc.forecast_errors(yv, linear.predict(xv)), fc.forecast_errors(yt, linear.predict(xt))
        print(json.dumps(dict(model="linear", h=h, val_mse=val["mse"], test_mse=test["mse"], test_mae=test["mae"],
                              alpha=alpha)), flush=True)
        for variant in args.variants.split(","):
            margs = {**fc.model_args(cfg, values.shape[1]), "highway": variant != "plain"}
            torch.manual_seed(0)
            model = fc.LSTMForecaster(horizon=h, **margs)
            if variant != "plain":
                model.init_highway_from(linear)
            scale = HIGHWAY_LR[variant]
            t0 = time.perf_counter()
            result = fc.train_forecaster(model, ds["train"], ds["val"], batch_size=cfg["batch_size"],
                                         num_epochs=cfg["num_epochs"], lr=cfg["lr"], patience=cfg["patience"],
                                         highway_lr=None if scale is None else scale * cfg["lr"], seed=0,
                                         device="cpu", progress=False)
            seconds = time.perf_counter() - t0
            val = fc.forecast_errors(yv, fc.predict_windows(model, ds["val"], device="cpu"))
            test = fc.forecast_errors(yt, fc.predict_windows(model, ds["test"], device="cpu"))
            print(json.dumps(dict(model=variant, lr=cfg["lr"], h=h, val_mse=val["mse"], test_mse=test["mse"],
                                  test_mae=test["mae"], initial_val=result.initial_score, best_epoch=result.best_epoch,
                                  epochs=len(result.history),
                                  val_by_epoch=[round(v, 4) for v in result.history["val_loss"]],
                                  seconds=round(seconds, 1))), flush=True)


if __name__ == "__main__":
    main()
