"""Day 1 benchmark: top-10 for every MovieLens-100k user in one vectorised call, and per-user latency.

    python benchmarks/bench_day1.py          # uses Day1_Recommendation/artifacts if the notebook saved one
    python benchmarks/bench_day1.py --train  # also times the quick profile's training (needs the data)

Latency does not depend on the weights' values, so without a saved artifact an untrained model of the
same shape (943 users, 1,682 items, the default sizes) is timed. Compare ratios within one run.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from applied_mlx.env import median_seconds


def recommender():
    from applied_mlx import recsys

    saved = Path(__file__).resolve().parents[1] / "Day1_Recommendation" / "artifacts"
    if (saved / "config.json").is_file():
        return recsys.Recommender.load(saved), "saved artifact"
    data = recsys.synthetic_ratings(n_users=943, n_items=1682, density=0.06, seed=0)
    train, _ = recsys.stratified_split(data.ratings)
    uf, itf = recsys.user_features(data.users), recsys.item_features(data.items)
    ranker = recsys.HistoryEncoder(data.n_items, uf.shape[1], itf)
    rater = recsys.RatingModel(data.n_users, data.n_items, uf, itf, dim=128)
    return recsys.Recommender.from_training(data, train, ranker, rater), "untrained, MovieLens-sized"


def training_seconds() -> None:
    """Wall time of the quick profile's two training runs (selection + refit each) on MovieLens 100k."""
    from applied_mlx import recsys

    data = recsys.load_movielens_100k()
    train, _ = recsys.stratified_split(data.ratings, 0.75, seed=42)
    for name, trainer in (("rating model", recsys.train_rating_model), ("ranking model", recsys.train_ranking_model)):
        t = time.perf_counter()
        run = trainer(data, train, seed=0, progress=False)
        print(f"train {name}: {time.perf_counter() - t:6.1f} s ({len(run.selection.history)} selection epochs "
              f"+ {run.epochs} refit epochs); target <= 60 s")


def main() -> None:
    import sys

    if "--train" in sys.argv:
        training_seconds()
    rec, source = recommender()
    print(f"Day 1 recommender ({source}): {rec.n_users} users x {rec.n_items} items, torch threads "
          f"{torch.get_num_threads()}")
    rows = [
        ("recommend_all(10): top-10 for every user, one call", median_seconds(lambda: rec.recommend_all(10), 20)),
        ("  of which scoring (the model)", median_seconds(rec.score_all, 20)),
        ("recommend(user, 10) with reasons and stars", median_seconds(lambda: rec.recommend(1, 10), 50)),
        ("recommend_for_ratings (fold-in, 3 ratings)",
         median_seconds(lambda: rec.recommend_for_ratings({1: 5, 2: 4, 3: 1}, 10), 50)),
        ("similar_items(item, 10)", median_seconds(lambda: rec.similar_items(1, 10), 50)),
    ]
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds * 1e3:8.2f} ms")
    target = rows[0][1]
    print(f"target: top-10 for all users <= 100 ms: {'met' if target <= 0.1 else 'MISSED'} ({target * 1e3:.1f} ms)")


if __name__ == "__main__":
    np.random.seed(0)
    main()
