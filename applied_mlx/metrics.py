"""Metrics: ranking at k, regression, classification and calibration.

Ranking metrics follow microsoft/recommenders' ``python_evaluation`` definitions, so numbers are
comparable with its published MovieLens benchmark:

- users without any relevant (held-out) item are left out; every other user counts, hits or not;
- precision@k = hits in the top k / k (even when fewer than k items were recommended);
- recall@k = hits / number of relevant items;
- nDCG@k with binary relevance: DCG = sum over hits of 1/log(1 + rank), divided by the ideal DCG
  of min(#relevant, k) hits (the log base cancels);
- ``map`` (the benchmark's "MAP"): the sum over hits of precision at the hit's rank, divided by
  the number of relevant items; ``map_at_k`` divides by min(#relevant, k) instead;
- hit_rate@k = share of users with at least one hit; coverage = distinct recommended items /
  catalogue size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _relevance_matrix(relevant, n_users: int, n_items: int | None):
    """A CSR boolean (n_users, n_items) matrix from a sparse/dense matrix or per-user item lists."""
    import scipy.sparse as sp

    if sp.issparse(relevant):
        return sp.csr_matrix(relevant, dtype=bool)
    if isinstance(relevant, np.ndarray) and relevant.ndim == 2:
        return sp.csr_matrix(relevant.astype(bool))
    rows, cols = [], []
    for u, items in enumerate(relevant):
        items = list(items)
        rows += [u] * len(items)
        cols += items
    if len(relevant) != n_users:
        raise ValueError(f"relevant has {len(relevant)} users, recommended has {n_users}")
    width = n_items if n_items is not None else (max(cols) + 1 if cols else 0)
    if cols and (min(cols) < 0 or max(cols) >= width):
        raise ValueError(f"relevant item ids must lie in [0, {width})")
    return sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n_users, width))


def ranking_metrics(recommended, relevant, k: int = 10, n_items: int | None = None,
                    per_user: bool = False) -> dict:
    """Precision, recall, nDCG, MAP, MAP@k and hit rate at ``k``, and catalogue coverage.

    recommended: (n_users, >= k) integer item indices, best first; negative entries are padding
        (fewer than k recommendations).
    relevant: per-user relevant items as a scipy sparse or dense (n_users, n_items) matrix
        (non-zero = relevant), or a sequence of item-id collections, one per row of ``recommended``.
    n_items: catalogue size for coverage (default: the relevance matrix's width).
    per_user: also return ``per_user``, a dict of per-user arrays (users with relevant items only)
        and ``users``, their row indices.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    recs = _to_numpy(recommended)
    if recs.ndim != 2:
        raise ValueError(f"recommended must be 2-D (users x ranked items), got shape {recs.shape}")
    recs = recs[:, :k].astype(np.int64)
    n_users = recs.shape[0]
    rel = _relevance_matrix(relevant, n_users, n_items)
    if rel.shape[0] != n_users:
        raise ValueError(f"relevant has {rel.shape[0]} users, recommended has {n_users}")
    catalogue = n_items if n_items is not None else rel.shape[1]
    if recs.size and recs.max() >= rel.shape[1]:
        raise ValueError(f"recommended item id {recs.max()} is outside the {rel.shape[1]} items of relevant")

    valid = recs >= 0
    rows = np.repeat(np.arange(n_users), recs.shape[1])
    hits = np.zeros(recs.size, dtype=bool)
    flat_valid = valid.ravel()
    hits[flat_valid] = np.asarray(rel[rows[flat_valid], recs.ravel()[flat_valid]]).ravel()
    hits = hits.reshape(recs.shape).astype(np.float64)

    n_rel = rel.getnnz(axis=1).astype(np.float64)
    users = np.flatnonzero(n_rel > 0)
    hits, n_rel = hits[users], n_rel[users]
    width = hits.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, width + 2))
    ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    n_hits = hits.sum(axis=1)
    precision_at_hits = np.cumsum(hits, axis=1) / np.arange(1, width + 1)
    ap_sum = (precision_at_hits * hits).sum(axis=1)
    scores = {
        f"precision@{k}": n_hits / k,
        f"recall@{k}": n_hits / n_rel,
        f"ndcg@{k}": (hits * discounts).sum(axis=1) / ideal[np.minimum(n_rel, k).astype(int)],
        "map": ap_sum / n_rel,
        f"map@{k}": ap_sum / np.minimum(n_rel, k),
        f"hit_rate@{k}": (n_hits > 0).astype(np.float64),
    }
    if len(users) == 0:
        raise ValueError("no user has a relevant item: nothing to evaluate")
    result = {name: float(v.mean()) for name, v in scores.items()}
    result["coverage"] = catalogue_coverage(recs, catalogue)
    result["n_users"] = int(len(users))
    if per_user:
        result["per_user"] = scores
        result["users"] = users
    return result


def catalogue_coverage(recommended, n_items: int) -> float:
    """Share of the ``n_items`` catalogue that appears in at least one recommendation list."""
    recs = _to_numpy(recommended)
    if n_items < 1:
        raise ValueError("n_items must be >= 1")
    return float(np.unique(recs[recs >= 0]).size / n_items)


# Regression -------------------------------------------------------------------------------

def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t, p = _to_numpy(y_true).astype(np.float64), _to_numpy(y_pred).astype(np.float64)
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has {p.shape}")
    if t.size == 0:
        raise ValueError("empty inputs")
    return t, p


def mse(y_true, y_pred) -> float:
    """Mean squared error."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error."""
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error in percent; targets equal to 0 are rejected (it is undefined)."""
    t, p = _pair(y_true, y_pred)
    if np.any(t == 0):
        raise ValueError("MAPE is undefined where y_true is 0: use smape or mae")
    return float(100.0 * np.mean(np.abs((t - p) / t)))


def smape(y_true, y_pred) -> float:
    """Symmetric MAPE in percent (0-200): 2|y - y_hat| / (|y| + |y_hat|), with 0/0 counted as 0."""
    t, p = _pair(y_true, y_pred)
    denom = np.abs(t) + np.abs(p)
    ratio = np.divide(2.0 * np.abs(t - p), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100.0 * np.mean(ratio))


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MSE, RMSE, MAE and sMAPE (MAPE too when no target is 0)."""
    out = {"mse": mse(y_true, y_pred), "rmse": rmse(y_true, y_pred), "mae": mae(y_true, y_pred),
           "smape": smape(y_true, y_pred)}
    if not np.any(_to_numpy(y_true) == 0):
        out["mape"] = mape(y_true, y_pred)
    return out


# Classification ---------------------------------------------------------------------------

def classification_metrics(y_true, y_pred=None, y_prob=None, labels: Sequence | None = None,
                           average: str | None = None) -> dict[str, float]:
    """Accuracy, precision, recall and F1 (scikit-learn), and ROC-AUC when probabilities are given.

    y_prob: (n, n_classes) probabilities; if ``y_pred`` is None it is their argmax.
    average: 'binary' for two classes (positive = 1), else 'macro', unless given.
    """
    from sklearn import metrics as skm

    t = _to_numpy(y_true)
    prob = None if y_prob is None else _to_numpy(y_prob)
    if y_pred is None:
        if prob is None:
            raise ValueError("give y_pred or y_prob")
        y_pred = prob.argmax(axis=1)
    p = _to_numpy(y_pred)
    n_classes = len(labels) if labels is not None else (
        prob.shape[1] if prob is not None else len(np.union1d(t, p)))
    average = average or ("binary" if n_classes == 2 else "macro")
    label_ids = list(range(n_classes)) if labels is not None else None
    out = {
        "accuracy": float(skm.accuracy_score(t, p)),
        "precision": float(skm.precision_score(t, p, average=average, labels=label_ids, zero_division=0)),
        "recall": float(skm.recall_score(t, p, average=average, labels=label_ids, zero_division=0)),
        "f1": float(skm.f1_score(t, p, average=average, labels=label_ids, zero_division=0)),
    }
    if prob is not None and len(np.unique(t)) > 1:
        if prob.shape[1] == 2:
            out["roc_auc"] = float(skm.roc_auc_score(t, prob[:, 1]))
        else:
            out["roc_auc"] = float(skm.roc_auc_score(t, prob, multi_class="ovr",
                                                     labels=list(range(prob.shape[1]))))
    return out


def softmax(logits, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax of a NumPy array or tensor."""
    z = _to_numpy(logits).astype(np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def on_argmax(fn: Callable, **kwargs) -> Callable[[np.ndarray, np.ndarray], float]:
    """Turn ``fn(y_true, y_pred_labels)`` into a ``fit`` metric over logits, e.g. ``on_argmax(f1_score)``."""

    def metric(y_true, logits):
        return float(fn(y_true, np.asarray(logits).argmax(axis=-1), **kwargs))

    metric.__name__ = getattr(fn, "__name__", "metric")
    return metric


def accuracy_from_logits(y_true, logits) -> float:
    """Share of rows whose argmax equals the target: a ready-made ``fit`` metric."""
    return float(np.mean(np.asarray(logits).argmax(axis=-1) == np.asarray(y_true)))


def reliability_table(y_true, y_prob, n_bins: int = 15):
    """Per-bin count, mean confidence and accuracy (a DataFrame) for a reliability diagram.

    y_prob: (n, n_classes) probabilities; confidence is the top probability. Bins are
    equal-width (lo, hi]; a confidence of exactly 1.0 falls in the last one. Empty bins are left out.
    """
    import pandas as pd

    t, prob = _to_numpy(y_true), _to_numpy(y_prob).astype(np.float64)
    if prob.ndim != 2 or len(t) != len(prob):
        raise ValueError("y_prob must be (n, n_classes) with one row per label")
    conf, pred = prob.max(axis=1), prob.argmax(axis=1)
    bins = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    frame = pd.DataFrame({"bin": bins, "confidence": conf, "correct": (pred == t).astype(float)})
    table = frame.groupby("bin").agg(count=("correct", "size"), confidence=("confidence", "mean"),
                                     accuracy=("correct", "mean"))
    table["lower"] = table.index / n_bins
    table["upper"] = (table.index + 1) / n_bins
    return table.reset_index(drop=True)


def expected_calibration_error(y_true, y_prob, n_bins: int = 15) -> float:
    """ECE: the count-weighted mean gap |accuracy - confidence| over the reliability bins."""
    table = reliability_table(y_true, y_prob, n_bins)
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["accuracy"] - table["confidence"]).abs()).sum())


def mean_and_spread(values: Sequence[float]) -> dict:
    """Mean, standard deviation (n - 1), min and max of per-seed results, and the values themselves."""
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()), "values": [float(x) for x in v]}
