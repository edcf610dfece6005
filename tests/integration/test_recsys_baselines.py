"""Day 1 baselines on the real MovieLens 100k, against the microsoft/recommenders benchmark table."""

import os

import pytest

from applied_mlx import recsys
from applied_mlx.data import MIRROR_VAR
from applied_mlx.metrics import ranking_metrics

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def split():
    if not os.environ.get(MIRROR_VAR):
        pytest.skip(f"set {MIRROR_VAR} to a mirror of the data sets")
    data = recsys.load_movielens_100k()
    train, test = recsys.stratified_split(data.ratings, 0.75, seed=42)
    x = recsys.interaction_matrix(train, data.n_users, data.n_items)
    return data, x, recsys.interaction_matrix(test, data.n_users, data.n_items)


def test_split_matches_the_protocol(split):
    data, x, truth = split
    assert (x.nnz, truth.nnz) == (74_992, 25_008)  # 75/25 per user, every user on both sides
    assert x.multiply(truth).nnz == 0


def test_most_popular_reproduces_the_published_number(split):
    data, x, truth = split
    scores = recsys.popularity_scores(x)[None, :].repeat(data.n_users, axis=0)
    m = ranking_metrics(recsys.top_k(scores, 10, x), truth, k=10, n_items=data.n_items)
    assert m["ndcg@10"] == pytest.approx(0.253, abs=0.015)  # recommenders' table: 0.253
    assert m["precision@10"] == pytest.approx(0.225, abs=0.015)


def test_item_cosine_cf_beats_most_popular(split):
    data, x, truth = split
    scores = recsys.item_knn_scores(x, recsys.item_cosine_similarity(x))
    m = ranking_metrics(recsys.top_k(scores, 10, x), truth, k=10, n_items=data.n_items)
    assert m["ndcg@10"] > 0.37 and m["map"] > 0.10  # between SAR (0.382) and most popular (0.253)
