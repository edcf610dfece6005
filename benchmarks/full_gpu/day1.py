"""Day 1 (MovieLens 100k) on a GPU: the notebook's pipeline with the 'full' settings
(rank_epochs=200, rate_epochs=30; the recsys defaults otherwise, seed 0, split seed 42).

Baselines (most popular, item-item cosine), recsys.train_rating_model and recsys.train_ranking_model
on the GPU (training.fit picks CUDA), then Recommender.evaluate. Recommender/score_all were written
for CPU tensors: the driver first tries them as they are with the models on the GPU and records
what happens, then moves the models to the CPU for the evaluation.

Usage: python day1.py --budget 240 [--tiny]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch

from common import environment, history_records, log, out_dir, write_json


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--budget", type=float, default=240.0)
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    start = time.perf_counter()

    from applied_mlx import env, recsys
    from applied_mlx.metrics import mae, ranking_metrics, rmse

    device = env.get_device()
    env.seed_everything(0)
    settings = dict(data="movielens-100k", rank_epochs=200, rate_epochs=30)
    if args.tiny:
        settings.update(rank_epochs=3, rate_epochs=2)
    TOP_K, SEED = 10, 42
    out_path = Path(args.out) if args.out else out_dir() / "day1.json"
    result = {"day": 1, "task": "MovieLens 100k recommendation", "environment": environment(), "profile": "full",
              "settings": settings, "standin": "none (no pretrained weights)", "tiny_dry_run": args.tiny}

    data = recsys.load_movielens_100k()
    train, test = recsys.stratified_split(data.ratings, ratio=0.75, seed=SEED)
    train_matrix = recsys.interaction_matrix(train, data.n_users, data.n_items)
    test_matrix = recsys.interaction_matrix(test, data.n_users, data.n_items)
    result["data"] = {"ratings": len(data.ratings), "users": data.n_users, "items": data.n_items,
                      "train": len(train), "test": len(test)}

    def ranking_row(scores):
        recs = recsys.top_k(scores, TOP_K, exclude=train_matrix)
        m = ranking_metrics(recs, test_matrix, k=TOP_K, n_items=data.n_items)
        return {name: m[name] for name in ("precision@10", "recall@10", "ndcg@10", "map", "coverage")}

    popularity = recsys.popularity_scores(train_matrix)
    popular_scores = np.broadcast_to(popularity, (data.n_users, data.n_items))
    knn_scores = recsys.item_knn_scores(train_matrix, recsys.item_cosine_similarity(train_matrix))
    mean_rating = train["rating"].mean()
    result["baselines"] = {
        "most popular": {**ranking_row(popular_scores), "rmse": rmse(test.rating, np.full(len(test), mean_rating)),
                         "mae": mae(test.rating, np.full(len(test), mean_rating))},
        "item-item cosine": ranking_row(knn_scores)}
    log("baselines", result["baselines"])
    write_json(out_path, result)

    t = time.perf_counter()
    rating_run = recsys.train_rating_model(data, train, max_epochs=settings["rate_epochs"], seed=0, progress=False)
    rate_wall = time.perf_counter() - t
    log(f"rating: {rating_run.epochs} epochs, val RMSE {rating_run.selection.best_score:.4f}, {rating_run.seconds:.1f}s")
    t = time.perf_counter()
    ranking_run = recsys.train_ranking_model(data, train, max_epochs=settings["rank_epochs"], seed=0, progress=False)
    rank_wall = time.perf_counter() - t
    log(f"ranking: {ranking_run.epochs} epochs, val nDCG {ranking_run.selection.best_score:.4f}, {ranking_run.seconds:.1f}s")
    result["training"] = {
        "rating": {"device": str(next(rating_run.model.parameters()).device),
                   "selection_epochs_run": len(rating_run.selection.history), "epochs_chosen": rating_run.epochs,
                   "val_rmse_best": rating_run.selection.best_score, "selection_seconds": rating_run.selection.seconds,
                   "refit_seconds": rating_run.final.seconds, "train_seconds": rating_run.seconds,
                   "wall_seconds_incl_setup": rate_wall, "selection_history": history_records(rating_run.selection)},
        "ranking": {"device": str(next(ranking_run.model.parameters()).device),
                    "selection_epochs_run": len(ranking_run.selection.history), "epochs_chosen": ranking_run.epochs,
                    "val_ndcg_best": ranking_run.selection.best_score, "selection_seconds": ranking_run.selection.seconds,
                    "refit_seconds": ranking_run.final.seconds, "train_seconds": ranking_run.seconds,
                    "wall_seconds_incl_setup": rank_wall,
                    "selection_history_every_10": history_records(ranking_run.selection)[::10]}}
    write_json(out_path, result)

    # Evaluation through the Recommender, first as the notebook does it (models left where fit put them).
    try:
        rec = recsys.Recommender.from_training(data, train, ranking_run.model, rating_run.model)
        test_metrics = rec.evaluate(test, k=TOP_K)
        result["evaluate_with_models_on_gpu"] = "worked"
    except Exception as e:  # noqa: BLE001
        result["evaluate_with_models_on_gpu"] = f"FAILED: {type(e).__name__}: {e}"
        log("evaluate with models on the GPU failed:", traceback.format_exc(limit=3))
        ranking_run.model.cpu()
        rating_run.model.cpu()
        rec = recsys.Recommender.from_training(data, train, ranking_run.model, rating_run.model)
        test_metrics = rec.evaluate(test, k=TOP_K)
    rating_model = rating_run.model.eval().cpu()
    predicted_stars = rating_model.score_all().numpy()
    result["test"] = {
        "ranking model (softmax)": {k: test_metrics[k] for k in ("precision@10", "recall@10", "ndcg@10", "map", "coverage")},
        "rating model (MSE)": {**ranking_row(predicted_stars), "rmse": test_metrics["rmse"], "mae": test_metrics["mae"]},
        "recommender.evaluate": test_metrics}
    result["published"] = {
        "BiVAE": {"precision@10": 0.412, "recall@10": 0.219, "ndcg@10": 0.475, "map": 0.146},
        "BPR": {"precision@10": 0.388, "recall@10": 0.213, "ndcg@10": 0.442, "map": 0.132},
        "NCF": {"precision@10": 0.347, "recall@10": 0.181, "ndcg@10": 0.396, "map": 0.108},
        "most popular": {"precision@10": 0.225, "recall@10": 0.112, "ndcg@10": 0.253, "map": 0.055},
        "SVD++ (Surprise, 5-fold)": {"rmse": 0.919, "mae": 0.721}}
    log("test", result["test"])
    result["script_seconds"] = time.perf_counter() - start
    write_json(out_path, result)


if __name__ == "__main__":
    main()
