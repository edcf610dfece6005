"""Day 1 ranking model search: which HistoryEncoder settings reach the best validation nDCG@10.

Every configuration is trained by ``recsys.train_ranking_model`` on the benchmark's training ratings
(MovieLens 100k, per-user 75/25 split, seed 42): epochs are chosen on a validation slice of the training
ratings (``stratified_split(train, 0.9, seed)``), then the model is refit on all of them. The decision reads
the ``val_ndcg@10`` column only; the test columns are reported beside it, never used to choose.

    python studies/day1/ranker_search.py                  # every configuration, one JSON line each
    python studies/day1/ranker_search.py baseline ii-l2   # only the named ones
    python studies/day1/ranker_search.py --seeds 0,1,2 chosen

Run with OMP_NUM_THREADS=1 to reproduce the timings (one CPU thread).
"""

from __future__ import annotations

import json
import sys
import time

import torch

from applied_mlx import recsys

# name -> train_ranking_model arguments; the package's defaults fill in the rest
CONFIGS = {
    "baseline": dict(item_item=False, item_item_l2=0.0),
    "ii": dict(item_item=True, item_item_l2=0.0),
    "ii-l2-3e-2": dict(item_item=True, item_item_l2=3e-2),
    "ii-l2-1e-1": dict(item_item=True, item_item_l2=1e-1),
    "ii-l2-3e-1": dict(item_item=True, item_item_l2=0.3),
    "ii-l2-1": dict(item_item=True, item_item_l2=1.0),
    "ii-drop0.3": dict(item_item=True, item_item_l2=0.0, item_item_dropout=0.3),
    "ii-ease-s10": dict(item_item=True, item_item_l2=0.0, ease_lambda=500.0, ease_scale=10.0),
    "ii-ease-s30": dict(item_item=True, item_item_l2=0.0, ease_lambda=500.0, ease_scale=30.0),
    "ii-ease-s30-lr1e-5": dict(item_item=True, item_item_l2=0.0, ease_lambda=500.0, ease_scale=30.0, item_item_lr=1e-5),
    "ii-ease-s30-lr1e-4": dict(item_item=True, item_item_l2=0.0, ease_lambda=500.0, ease_scale=30.0, item_item_lr=1e-4),
    "ii-l2-1e-1-drop0.9": dict(item_item=True, item_item_l2=0.1, item_item_dropout=0.9),
    "ii-l2-1e-1-lr3e-3": dict(item_item=True, item_item_l2=0.1, item_item_lr=3e-3),
    "ii-l2-1e-1-dim600": dict(item_item=True, item_item_l2=0.1, dim=600),
    "ii-l2-3e-2-drop0.5": dict(item_item=True, item_item_l2=3e-2, dropout=0.5),
    "ii-l2-3e-2-lr2e-3": dict(item_item=True, item_item_l2=3e-2, lr=2e-3),
    "ii-l2-3e-2-batch64": dict(item_item=True, item_item_l2=3e-2, batch_size=64),
}


def run(data, train, test, name: str, kwargs: dict, seed: int) -> dict:
    start = time.perf_counter()
    result = recsys.train_ranking_model(data, train, seed=seed, progress=False, **kwargs)
    seconds = time.perf_counter() - start
    metrics = recsys.Recommender.from_training(data, train, result.model).evaluate(test)
    return {"config": name, **kwargs, "seed": seed, "val_ndcg@10": round(result.selection.best_score, 4),
            "epochs": result.epochs, "test_ndcg@10": round(metrics["ndcg@10"], 4),
            "test_map": round(metrics["map"], 4), "test_map@10": round(metrics["map@10"], 4),
            "train_seconds": round(seconds, 1)}


def main(argv: list[str]) -> None:
    seeds = [0]
    if "--seeds" in argv:
        i = argv.index("--seeds")
        seeds = [int(s) for s in argv[i + 1].split(",")]
        argv = argv[:i] + argv[i + 2:]
    names = argv or list(CONFIGS)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown configuration(s) {unknown}; choose from {list(CONFIGS)}")
    torch.set_num_threads(1)
    data = recsys.load_movielens_100k()
    train, test = recsys.stratified_split(data.ratings, 0.75, seed=42)
    for name in names:
        for seed in seeds:
            print(json.dumps(run(data, train, test, name, CONFIGS[name], seed)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
