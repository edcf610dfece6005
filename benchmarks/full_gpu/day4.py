"""Day 4 (ETTh1 forecasting) on a GPU: the notebook's pipeline with fc.settings("full").

Baselines (repeat last, seasonal naive 24 h, least-squares linear with ridge chosen on val) and one
LSTMForecaster per horizon trained with fc.train_forecaster (seed 0, as the notebook); then, time
permitting, the same LSTM with seeds 1 and 2 to show the seed spread.

Usage: python day4.py --budget 240 [--tiny]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch

from common import environment, history_records, log, out_dir, write_json

PUBLISHED = {"PatchTST/64 (L=512)": [.370, .413, .422, .447], "NLinear (L=336)": [.374, .408, .429, .440],
             "DLinear (L=336)": [.375, .405, .439, .472], "repeat (paper)": [1.295, 1.325, 1.323, 1.339]}
PUBLISHED_MAE = {"PatchTST/64 (L=512)": [.400, .429, .440, .468], "NLinear (L=336)": [.394, .415, .427, .453],
                 "DLinear (L=336)": [.399, .416, .443, .490], "repeat (paper)": [.713, .733, .744, .756]}
# (shared/REFERENCES.md: the PatchTST and DLinear papers' tables)
QUICK_CPU = {"LSTM": [0.375, 0.410, 0.432, 0.460], "linear (least squares)": [0.370, 0.403, 0.426, 0.432]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--budget", type=float, default=240.0)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    start = time.perf_counter()

    from applied_mlx import env
    from applied_mlx import forecasting as fc

    device = env.get_device()
    seed = env.seed_everything(0)
    cfg = fc.settings("full")
    if args.tiny:
        cfg.update(horizons=(96,), num_epochs=1)
    lookback, horizons = cfg["lookback"], list(cfg["horizons"])
    seeds = [int(s) for s in args.seeds.split(",")]
    out_path = Path(args.out) if args.out else out_dir() / "day4.json"
    result = {"day": 4, "task": "ETTh1 forecasting", "environment": environment(), "profile": "full",
              "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
              "standin": "none (no pretrained weights)", "tiny_dry_run": args.tiny}

    frame = fc.load_etth1()
    scaler, values, splits = fc.prepare(frame, lookback)
    result["data"] = {"rows": len(frame), "columns": list(frame.columns), "splits": {k: list(v) for k, v in splits.items()}}

    def windows_for(h):
        return fc.make_datasets(values, splits, lookback, h)

    rows = []
    for h in horizons:
        ds = windows_for(h)
        x_test, y_test = ds["test"].arrays()
        t = time.perf_counter()
        linear, alpha = fc.fit_linear_baseline(ds["train"], ds["val"])
        lin_s = time.perf_counter() - t
        for name, pred in [("repeat last value", fc.repeat_last(x_test, h)),
                           ("seasonal naive 24h", fc.seasonal_naive(x_test, h)),
                           ("linear (least squares)", linear.predict(x_test))]:
            err = fc.forecast_errors(y_test, pred)
            rows.append({"model": name, "horizon": h, "mse": err["mse"], "mae": err["mae"],
                         **({"ridge_alpha": alpha, "fit_seconds_cpu": lin_s} if name.startswith("linear") else {})})
        log(f"H={h}: {len(x_test)} test windows, {len(ds['train'])} train windows; linear alpha {alpha:g}")
    result["baselines"] = rows
    write_json(out_path, result)

    margs = fc.model_args(cfg, num_channels=frame.shape[1])
    result["model_args"] = margs
    lstm = {}
    for s in seeds:
        for h in horizons:
            elapsed = time.perf_counter() - start
            if s != seeds[0] and elapsed > args.budget * 0.8:
                log(f"skip seed {s} H={h}: {elapsed:.0f}s of {args.budget:.0f}s used")
                continue
            ds = windows_for(h)
            torch.manual_seed(s)
            model = fc.LSTMForecaster(horizon=h, **margs)
            n_params = sum(q.numel() for q in model.parameters())
            t = time.perf_counter()
            fr = fc.train_forecaster(model, ds["train"], ds["val"], batch_size=cfg["batch_size"],
                                     num_epochs=cfg["num_epochs"], lr=cfg["lr"], patience=cfg["patience"],
                                     seed=s, device=device, progress=False)
            train_s = time.perf_counter() - t
            t = time.perf_counter()
            pred = fc.predict_windows(model, ds["test"], device=device)
            pred_s = time.perf_counter() - t
            err = fc.forecast_errors(ds["test"].arrays()[1], pred)
            lstm[f"seed{s}_h{h}"] = {"seed": s, "horizon": h, "mse": err["mse"], "mae": err["mae"],
                                     "train_seconds": train_s, "predict_seconds": pred_s,
                                     "epochs_run": len(fr.history), "best_epoch": fr.best_epoch,
                                     "stopped_early": fr.stopped_early, "best_val_mse": fr.best_score,
                                     "params": n_params, "train_windows": len(ds["train"]),
                                     "history": history_records(fr)}
            log(f"seed {s} H={h}: test MSE {err['mse']:.4f} MAE {err['mae']:.4f}, {len(fr.history)} epochs "
                f"(best {fr.best_epoch}), {train_s:.1f}s")
            result["lstm"] = lstm
            write_json(out_path, result)

    # summary table
    lin = {r["horizon"]: r for r in rows if r["model"] == "linear (least squares)"}
    summary = {}
    for h in horizons:
        s0 = lstm.get(f"seed{seeds[0]}_h{h}")
        all_seeds = [v["mse"] for k, v in lstm.items() if v["horizon"] == h]
        summary[str(h)] = {"lstm_seed0_mse": s0 and s0["mse"], "lstm_seed0_mae": s0 and s0["mae"],
                           "lstm_seed_mse_mean": float(np.mean(all_seeds)) if all_seeds else None,
                           "lstm_seed_mse_std": float(np.std(all_seeds, ddof=1)) if len(all_seeds) > 1 else None,
                           "lstm_seed_mses": all_seeds,
                           "linear_mse": lin[h]["mse"], "linear_mae": lin[h]["mae"],
                           "seed0_below_linear": bool(s0 and s0["mse"] < lin[h]["mse"]),
                           "lstm_train_seconds_seed0": s0 and s0["train_seconds"]}
    result["summary"] = summary
    result["published_mse"] = PUBLISHED
    result["published_mae"] = PUBLISHED_MAE
    result["quick_cpu_committed"] = QUICK_CPU
    result["script_seconds"] = time.perf_counter() - start
    write_json(out_path, result)


if __name__ == "__main__":
    main()
