import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from applied_mlx import metrics as M

# A case worked by hand: 10 items, k = 3, five users.
#   user 0: relevant {1, 4, 7}, recommended [1, 2, 4] -> hits at ranks 1 and 3
#   user 1: relevant {0},       recommended [5, 6, 0] -> hit at rank 3
#   user 2: relevant {2,3,5,8,9}, recommended [9, 8, 1] -> hits at ranks 1 and 2
#   user 3: relevant {} -> not evaluated (recommenders only scores users with held-out items)
#   user 4: relevant {6},       recommended [3, -, -] -> one recommendation, no hit
RECS = np.array([[1, 2, 4], [5, 6, 0], [9, 8, 1], [0, 1, 2], [3, -1, -1]])
RELEVANT = [{1, 4, 7}, {0}, {2, 3, 5, 8, 9}, set(), {6}]
L2, L3, L4 = 1 / math.log2(2), 1 / math.log2(3), 1 / math.log2(4)  # rank discounts 1, 0.631, 0.5
HAND = {
    "precision@3": (2 / 3 + 1 / 3 + 2 / 3 + 0) / 4,
    "recall@3": (2 / 3 + 1 / 1 + 2 / 5 + 0) / 4,
    "ndcg@3": ((L2 + L4) / (L2 + L3 + L4) + L4 / L2 + (L2 + L3) / (L2 + L3 + L4) + 0) / 4,
    # precision at each hit, summed, over #relevant (map) or min(#relevant, k) (map@k)
    "map": ((1 / 1 + 2 / 3) / 3 + (1 / 3) / 1 + (1 / 1 + 2 / 2) / 5 + 0) / 4,
    "map@3": ((1 / 1 + 2 / 3) / 3 + (1 / 3) / 1 + (1 / 1 + 2 / 2) / 3 + 0) / 4,
    "hit_rate@3": 3 / 4,
    "coverage": 9 / 10,  # items 0-6, 8, 9 appear in some list; item 7 never does
}


@pytest.mark.parametrize("form", ["sets", "dense", "sparse"])
def test_ranking_metrics_hand_worked(form):
    relevant = RELEVANT
    if form != "sets":
        dense = np.zeros((5, 10), dtype=bool)
        for u, items in enumerate(RELEVANT):
            dense[u, list(items)] = True
        relevant = dense if form == "dense" else sp.csr_matrix(dense)
    result = M.ranking_metrics(RECS, relevant, k=3, n_items=10)
    for name, value in HAND.items():
        assert result[name] == pytest.approx(value, abs=1e-12), name
    assert result["n_users"] == 4


def recommenders_oracle(recs, relevant, k):
    """Per-user loop that follows microsoft/recommenders' python_evaluation definitions literally,
    natural-log discount included, to check the vectorised code against."""
    rows = []
    for rec, rel in zip(recs, relevant):
        if not rel:
            continue
        top = [i for i in rec[:k] if i >= 0]
        hit_ranks = [rank for rank, item in enumerate(top, 1) if item in rel]
        dcg = sum(1 / math.log(1 + r) for r in hit_ranks)
        idcg = sum(1 / math.log(1 + r) for r in range(1, min(len(rel), k) + 1))
        rr = sum((j + 1) / r for j, r in enumerate(hit_ranks))
        rows.append([len(hit_ranks) / k, len(hit_ranks) / len(rel), dcg / idcg, rr / len(rel),
                     rr / min(len(rel), k)])
    return dict(zip(["precision@10", "recall@10", "ndcg@10", "map", "map@10"], np.mean(rows, axis=0)))


def test_ranking_metrics_match_the_recommenders_definitions_on_random_data():
    rng = np.random.default_rng(0)
    n_users, n_items, k = 60, 50, 10
    recs = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    relevant = [set(rng.choice(n_items, size=rng.integers(0, 15), replace=False).tolist())
                for _ in range(n_users)]
    got = M.ranking_metrics(recs, relevant, k=k, n_items=n_items)
    for name, value in recommenders_oracle(recs, relevant, k).items():
        assert got[name] == pytest.approx(value, abs=1e-12), name


def test_ranking_metrics_per_user_and_tensor_input():
    result = M.ranking_metrics(torch.tensor(RECS), RELEVANT, k=3, n_items=10, per_user=True)
    assert list(result["users"]) == [0, 1, 2, 4]
    assert result["per_user"]["hit_rate@3"].tolist() == [1, 1, 1, 0]


def test_k_shorter_than_the_lists_truncates():
    long = np.array([[0, 1, 2, 3]])
    assert M.ranking_metrics(long, [{3}], k=3)["hit_rate@3"] == 0
    assert M.ranking_metrics(long, [{3}], k=4)["hit_rate@4"] == 1


@pytest.mark.parametrize("kwargs, message", [
    (dict(recommended=RECS, relevant=RELEVANT, k=0), "k must be >= 1"),
    (dict(recommended=RECS[0], relevant=RELEVANT, k=3), "must be 2-D"),
    (dict(recommended=RECS, relevant=RELEVANT[:2], k=3), "relevant has 2 users"),
    (dict(recommended=RECS + 10, relevant=RELEVANT, k=3, n_items=10), "outside the 10 items"),
    (dict(recommended=RECS, relevant=[set()] * 5, k=3, n_items=10), "no user has a relevant item"),
])
def test_ranking_metrics_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        M.ranking_metrics(**kwargs)


def test_catalogue_coverage():
    assert M.catalogue_coverage(np.array([[0, 1], [1, -1]]), 4) == 0.5


def test_regression_hand_values():
    y, p = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 1.0])
    assert M.mse(y, p) == pytest.approx((1 + 0 + 9) / 3)
    assert M.rmse(y, p) == pytest.approx(math.sqrt(10 / 3))
    assert M.mae(y, p) == pytest.approx(4 / 3)
    assert M.mape(y, p) == pytest.approx(100 * (1 + 0 + 0.75) / 3)
    assert M.smape(y, p) == pytest.approx(100 * (2 / 3 + 0 + 6 / 5) / 3)
    assert M.smape([0.0], [0.0]) == 0.0
    assert set(M.regression_metrics(y, p)) == {"mse", "rmse", "mae", "smape", "mape"}
    assert "mape" not in M.regression_metrics([0.0, 1.0], [0.0, 1.0])


def test_regression_errors():
    with pytest.raises(ValueError, match="undefined where y_true is 0"):
        M.mape([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        M.mse([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="empty"):
        M.mae([], [])


def test_classification_binary_by_hand():
    y = [1, 1, 1, 0, 0]
    prob = np.array([[0.1, 0.9], [0.4, 0.6], [0.7, 0.3], [0.8, 0.2], [0.45, 0.55]])
    out = M.classification_metrics(y, y_prob=prob)
    # predictions 1 1 0 0 1: TP 2, FN 1, FP 1, TN 1
    assert out["accuracy"] == pytest.approx(3 / 5)
    assert out["precision"] == pytest.approx(2 / 3) and out["recall"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(2 / 3)
    # positives' scores .9 .6 .3 vs negatives' .2 .55: 5 of 6 pairs ordered correctly
    assert out["roc_auc"] == pytest.approx(5 / 6)


def test_classification_multiclass_macro():
    out = M.classification_metrics([0, 1, 2, 2], [0, 2, 2, 2], labels=["a", "b", "c"])
    assert out["accuracy"] == 0.75
    assert out["recall"] == pytest.approx((1 + 0 + 1) / 3)
    with pytest.raises(ValueError, match="give y_pred or y_prob"):
        M.classification_metrics([0, 1])


def test_softmax_and_logit_metrics():
    logits = np.array([[1000.0, 1000.0], [0.0, math.log(3)]])
    assert M.softmax(logits) == pytest.approx(np.array([[0.5, 0.5], [0.25, 0.75]]))
    assert M.accuracy_from_logits(np.array([0, 1]), logits) == 1.0
    from sklearn.metrics import f1_score
    f1 = M.on_argmax(f1_score, average="macro")
    assert f1(np.array([0, 0]), logits) == pytest.approx(f1_score([0, 0], [0, 1], average="macro"))


def test_expected_calibration_error_by_hand():
    # 10 equal bins; the top probabilities .6 .6 .9 1.0 fall in three of them
    y = [0, 1, 0, 0]
    prob = np.array([[0.6, 0.4], [0.6, 0.4], [0.9, 0.1], [1.0, 0.0]])
    # bin (.5,.6]: conf .6, accuracy 1/2 ; bin (.8,.9]: conf .9, acc 1 ; bin (.9,1]: conf 1, acc 1
    expected = 0.5 * abs(0.5 - 0.6) + 0.25 * abs(1 - 0.9) + 0.25 * abs(1 - 1.0)
    assert M.expected_calibration_error(y, prob, n_bins=10) == pytest.approx(expected)
    table = M.reliability_table(y, prob, n_bins=10)
    assert table["count"].tolist() == [2, 1, 1]
    assert table["upper"].tolist() == pytest.approx([0.6, 0.9, 1.0])
    with pytest.raises(ValueError, match="one row per label"):
        M.expected_calibration_error([0], prob)
