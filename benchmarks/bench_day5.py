"""Day 5 benchmark: the saved sentiment classifier, fp32 vs int8 (per-token and per-tensor activations), each
also through ``torch.compile``, on the CPU.

    python benchmarks/bench_day5.py [artifact_dir] [--seconds 10] [--threads N] [--no-compile]

Reads the artifact the Day 5 notebook saved (default ``artifact_dir("Day5_Sentiment")``) and prints a
markdown table: SST-2 dev accuracy, weights size and sentences per second at batch 1 and 32 for each
precision; then int8's accuracy by batch size (per-tensor dynamic quantization is not batch-invariant).
The compiled variants (``SentimentClassifier.load(..., compile=True)``) first pay their compile time, printed
apart ("first calls"), before anything is timed.
Without ``APPLIED_MLX_MIRROR`` or a cached SST-2 it times the smoke sentences and reports no accuracy.
Speeds depend on the machine and its load: compare the rows of one run, not numbers across machines.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from applied_mlx import sentiment as S
from applied_mlx.artifacts import artifact_dir


def dev_set():
    """(texts, labels or None, what they are): SST-2 dev where it can be had offline, else smoke sentences."""
    from applied_mlx.data import DataError

    try:
        os.environ.setdefault("APPLIED_MLX_OFFLINE", "1")  # a benchmark should not start a download
        _, dev = S.load_sst2()
        return dev.sentence.tolist(), dev.label.values, "SST-2 dev (872)"
    except DataError:
        _, dev = S.make_smoke_sentiment_data(n_train=0, n_dev=256)
        return dev.sentence.tolist(), None, "smoke sentences (no SST-2 found)"


def throughput(clf, texts, batch_size: int, seconds: float, repeats: int = 3) -> float:
    """Median sentences per second of ``clf.predict_proba`` over ``repeats`` runs of >= ``seconds``/repeats each."""
    clf.batch_size = batch_size
    clf.predict_proba(texts[:batch_size])  # warm-up
    rates = []
    for r in range(repeats):
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / repeats:
            lo = (done + r * 97) % len(texts)
            chunk = (texts[lo:] + texts[:lo])[:batch_size * 4]
            clf.predict_proba(chunk)
            done += len(chunk)
        rates.append(done / (time.perf_counter() - start))
    return statistics.median(rates)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact", nargs="?", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=10.0, help="timing per precision and batch size")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-compile", action="store_true", help="leave out the torch.compile variants")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = args.artifact or artifact_dir("Day5_Sentiment")
    if not (folder / "config.json").is_file():
        print(f"bench_day5: no Day 5 artifact at {folder}; run Day5_Sentiment/sentiment.ipynb first (skipped)")
        return 0
    texts, labels, what = dev_set()
    variants = {"fp32": {}, "int8 per-token": {"quantize": True, "int8_activations": "per_token"},
                "int8 per-tensor": {"quantize": True, "int8_activations": "per_tensor"}}
    if not args.no_compile:
        variants |= {"fp32 compiled": {"compile": True},
                     "int8 per-token compiled": {"quantize": True, "int8_activations": "per_token", "compile": True}}
    runs = {name: S.SentimentClassifier.load(folder, device="cpu", **kw) for name, kw in variants.items()}
    for name, clf in runs.items():
        if clf.compiled:  # compile for the shapes timed below (batch 1, batch 32), before any timing
            start = time.perf_counter()
            for size in (1, 32):
                clf.batch_size = size
                clf.predict_proba(texts[:2 * size])
            print(f"{name}: first calls (compiling) {time.perf_counter() - start:.1f} s"
                  + ("" if clf.compiled else " -- compiling failed, timed uncompiled"))
    config = runs["fp32"].config
    print(f"model {config.get('base_model')} ({config.get('profile')} profile), {what}, "
          f"CPU threads {torch.get_num_threads()}, {args.seconds:g} s per cell")
    print("| precision | dev accuracy | weights MB | sentences/s batch 1 | sentences/s batch 32 |")
    print("|---|---|---|---|---|")
    rows = {}
    for name, clf in runs.items():
        acc = float(np.mean(clf.predict_proba(texts).argmax(1) == labels)) if labels is not None else float("nan")
        rows[name] = (acc, S.weights_megabytes(clf.model), throughput(clf, texts, 1, args.seconds),
                      throughput(clf, texts, 32, args.seconds))
        print(f"| {name} | {acc:.4f} | {rows[name][1]:.1f} | {rows[name][2]:.1f} | {rows[name][3]:.1f} |")
    f = rows["fp32"]
    for name in list(rows)[1:]:
        q = rows[name]
        print(f"| {name} vs fp32 | {100 * (q[0] - f[0]):+.2f} points | x{q[1] / f[1]:.2f} | x{q[2] / f[2]:.2f} | "
              f"x{q[3] / f[3]:.2f} |")
    if labels is not None:
        batch_dependence(runs, texts, labels)
    return 0


def batch_dependence(runs, texts, labels, sizes=(1, 8, 32, 64, 128)):
    """int8 accuracy and agreement with fp32 by batch size. ``quantize_dynamic`` (per-tensor) scales each
    batch's activations by that batch's range, so a sentence's score depends on the sentences beside it;
    per-token scaling does not."""
    fp32 = runs["fp32"].predict_proba(texts).argmax(1)
    print("\n| variant | batch size | dev accuracy | same label as fp32 |")
    print("|---|---|---|---|")
    for name, clf in list(runs.items())[1:]:
        for size in sizes:
            clf.batch_size = size
            pred = clf.predict_proba(texts).argmax(1)
            print(f"| {name} | {size} | {np.mean(pred == labels):.4f} | {np.mean(pred == fp32):.1%} |")


if __name__ == "__main__":
    sys.exit(main())
