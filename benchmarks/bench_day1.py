"""Day 1 benchmark: top-10 for every MovieLens-100k user in one vectorised call, and per-user latency.

    python benchmarks/bench_day1.py          # uses Day1_Recommendation/artifacts if the notebook saved one
    python benchmarks/bench_day1.py --train  # also times the quick profile's training (needs the data)

With MovieLens 100k at hand (``APPLIED_MLX_MIRROR`` or the cache) it first prints the ranking quality of the
baselines on the benchmark split: most popular, item-kNN and EASE (Steck 2019, its lambda chosen on a
validation slice of the training ratings, never the test set), and with ``--train`` the project's ranking
model beside them: nDCG@10, MAP, MAP@10 and the seconds each took to fit and score.

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
    ranker = recsys.HistoryEncoder(data.n_items, uf.shape[1], itf, item_item=True)  # as train_ranking_model builds it
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


def quality(with_model: bool) -> None:
    """nDCG@10, MAP, MAP@10 and fit-and-score seconds of the baselines (and the ranking model) on MovieLens 100k."""
    from applied_mlx import recsys
    from applied_mlx.metrics import ranking_metrics

    try:
        data = recsys.load_movielens_100k()
    except Exception as err:  # no mirror, no cache, no network: the latency part still runs
        print(f"ranking quality skipped: MovieLens 100k is not at hand ({type(err).__name__})")
        return
    train, test = recsys.stratified_split(data.ratings, 0.75, seed=42)
    x = recsys.interaction_matrix(train, data.n_users, data.n_items)
    truth = recsys.interaction_matrix(test, data.n_users, data.n_items)

    def ease():
        fit_part, val_part = recsys.stratified_split(train, 0.9, seed=0)  # carved from train, never test
        lam, _ = recsys.choose_ease_lambda(recsys.interaction_matrix(fit_part, data.n_users, data.n_items),
                                           recsys.interaction_matrix(val_part, data.n_users, data.n_items))
        ease.lam = lam
        return recsys.ease_scores(x, lam)

    def model():
        run = recsys.train_ranking_model(data, train, seed=0, progress=False)
        return recsys.Recommender.from_training(data, train, run.model).score_all()

    systems = [("most popular", lambda: np.tile(recsys.popularity_scores(x), (data.n_users, 1))),
               ("item-kNN (cosine)", lambda: recsys.item_knn_scores(x, recsys.item_cosine_similarity(x))),
               ("EASE", ease)] + ([("HistoryEncoder (ranking model)", model)] if with_model else [])
    print(f"ranking quality on {data.name}, per-user 75/25 split, top-10 with rated items left out:")
    for name, scores in systems:
        t = time.perf_counter()
        m = ranking_metrics(recsys.top_k(scores(), 10, exclude=x), truth, k=10)
        label = f"{name} (lambda {ease.lam:g})" if scores is ease else name
        print(f"  {label:<32} nDCG@10 {m['ndcg@10']:.4f}  MAP {m['map']:.4f}  MAP@10 {m['map@10']:.4f}  "
              f"{time.perf_counter() - t:6.1f} s")


def main() -> None:
    import sys

    quality(with_model="--train" in sys.argv)
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
