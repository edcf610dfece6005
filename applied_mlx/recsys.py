"""Day 1, recommendation: MovieLens data, the benchmark split, top-k scoring and the baselines.

The evaluation protocol is microsoft/recommenders' MovieLens benchmark: a per-user stratified
75/25 split, top-10 with each user's training items removed, every held-out item relevant
(``applied_mlx.metrics.ranking_metrics``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from .metrics import ranking_metrics

GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
          "War", "Western")


@dataclass
class RatingData:
    """Ratings with contiguous ids, and the user and item tables (row ``i`` describes id ``i``).

    ratings: columns ``user``, ``item`` (0-based contiguous ids), ``rating``, ``timestamp``.
    users: one row per user id; MovieLens: ``age``, ``gender``, ``occupation``, ``zip``.
    items: one row per item id: ``title``, ``year`` and one 0/1 column per genre.
    """

    ratings: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame
    name: str

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return (f"RatingData({self.name!r}: {len(self.ratings):,} ratings, {self.n_users:,} users, "
                f"{self.n_items:,} items, density {len(self.ratings) / (self.n_users * self.n_items):.2%})")


def load_movielens_100k(root: str | Path | None = None) -> RatingData:
    """MovieLens 100k from its extracted folder (default: ``fetch("movielens-100k")``).

    MovieLens ids start at 1 and have no gaps; they become ``id - 1``. The original id is kept
    as ``movielens_id`` in the user and item tables.
    """
    if root is None:
        from .data import fetch

        root = fetch("movielens-100k")
    root = Path(root)
    ratings = pd.read_csv(root / "u.data", sep="\t", names=["user", "item", "rating", "timestamp"])
    users = pd.read_csv(root / "u.user", sep="|", names=["movielens_id", "age", "gender", "occupation", "zip"])
    items = pd.read_csv(root / "u.item", sep="|", encoding="latin-1", header=None,
                        names=["movielens_id", "title", "release_date", "video_release_date", "imdb_url", *GENRES])
    ratings["user"] -= 1
    ratings["item"] -= 1
    if not (np.array_equal(users["movielens_id"], np.arange(1, len(users) + 1))
            and np.array_equal(items["movielens_id"], np.arange(1, len(items) + 1))):
        raise ValueError(f"{root}: user or item ids are not 1..n without gaps; is this MovieLens 100k?")
    items["year"] = pd.to_datetime(items["release_date"], format="%d-%b-%Y", errors="coerce").dt.year
    items = items[["movielens_id", "title", "year", *GENRES]]
    return RatingData(ratings=ratings, users=users, items=items, name="MovieLens 100k")


def synthetic_ratings(n_users: int = 120, n_items: int = 80, n_factors: int = 4, density: float = 0.15,
                      seed: int = 0) -> RatingData:
    """Ratings with real latent structure, for the smoke profile: users and items belong to taste
    groups (the genres), a user rates more of, and higher, the items of their groups.

    Returns the same shapes as MovieLens: items carry a title, a year and genre flags.
    """
    rng = np.random.default_rng(seed)
    genres = GENRES[1:n_factors + 1]
    user_taste = rng.dirichlet(np.full(n_factors, 0.3), size=n_users)
    item_genre = np.eye(n_factors)[rng.integers(0, n_factors, n_items)]
    popularity = rng.lognormal(0.0, 0.8, n_items)
    affinity = user_taste @ item_genre.T  # (users, items) in [0, 1]
    weight = affinity * popularity
    prob = weight / weight.sum(axis=1, keepdims=True)
    rows = []
    for u in range(n_users):
        n = max(5, int(density * n_items))
        chosen = rng.choice(n_items, size=n, replace=False, p=prob[u])
        stars = np.clip(np.rint(1.5 + 3.5 * affinity[u, chosen] + rng.normal(0, 0.6, n)), 1, 5)
        rows += [(u, i, int(s), 880_000_000 + int(rng.integers(0, 10_000_000))) for i, s in zip(chosen, stars)]
    ratings = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    users = pd.DataFrame({"movielens_id": np.arange(1, n_users + 1), "age": rng.integers(15, 70, n_users),
                          "gender": rng.choice(["F", "M"], n_users),
                          "occupation": rng.choice(["student", "engineer", "artist", "other"], n_users),
                          "zip": "00000"})
    items = pd.DataFrame({"movielens_id": np.arange(1, n_items + 1),
                          "title": [f"Movie {i + 1} ({genres[g]})" for i, g in enumerate(item_genre.argmax(1))],
                          "year": rng.integers(1950, 1999, n_items)})
    for g, name in enumerate(GENRES):  # the taste groups are GENRES[1 : n_factors + 1]
        items[name] = item_genre[:, g - 1].astype(int) if 1 <= g <= n_factors else 0
    items = items[["movielens_id", "title", "year", *GENRES]]
    return RatingData(ratings=ratings, users=users, items=items, name="synthetic")


def stratified_split(ratings: pd.DataFrame, ratio: float = 0.75, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-user random split: each user's ratings are shuffled and ``round(ratio * n)`` go to train.

    Every user keeps at least one training and (with two or more ratings) one test rating,
    as in microsoft/recommenders' ``python_stratified_split``.
    """
    if not 0 < ratio < 1:
        raise ValueError(f"ratio must lie strictly between 0 and 1, got {ratio}")
    shuffled = ratings.sample(frac=1.0, random_state=seed)
    rank = shuffled.groupby("user").cumcount()
    size = shuffled.groupby("user")["user"].transform("size")
    n_train = np.clip(np.round(ratio * size), 1, np.maximum(size - 1, 1))
    in_train = rank < n_train
    return (shuffled[in_train].sort_values(["user", "item"]).reset_index(drop=True),
            shuffled[~in_train].sort_values(["user", "item"]).reset_index(drop=True))


def interaction_matrix(ratings: pd.DataFrame, n_users: int, n_items: int):
    """A CSR (users x items) matrix of ones: who interacted with what (implicit feedback)."""
    data = np.ones(len(ratings), dtype=np.float32)
    return sp.csr_matrix((data, (ratings["user"].to_numpy(), ratings["item"].to_numpy())),
                         shape=(n_users, n_items))


def top_k(scores, k: int, exclude=None) -> np.ndarray:
    """Indices of the ``k`` best items per row, best first, in one vectorised call.

    scores: (users, items) array or tensor. exclude: a same-shape sparse or boolean matrix of items
    to leave out (the items a user already rated). Rows with fewer than ``k`` allowed items are
    padded with -1.
    """
    s = np.array(scores.detach().cpu().numpy() if hasattr(scores, "detach") else scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (users x items), got shape {s.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if exclude is not None:
        mask = exclude.nonzero() if sp.issparse(exclude) else np.nonzero(np.asarray(exclude, dtype=bool))
        s[mask] = -np.inf
    k_eff = min(k, s.shape[1])
    part = np.argpartition(-s, k_eff - 1, axis=1)[:, :k_eff]
    order = np.argsort(-np.take_along_axis(s, part, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1)
    best[~np.isfinite(np.take_along_axis(s, best, axis=1))] = -1
    if k_eff < k:
        best = np.pad(best, ((0, 0), (0, k - k_eff)), constant_values=-1)
    return best


def popularity_scores(train) -> np.ndarray:
    """How many users interacted with each item: the most-popular baseline's score."""
    return np.asarray(train.sum(axis=0)).ravel().astype(np.float64)


def item_cosine_similarity(train) -> np.ndarray:
    """(items x items) cosine similarity of the item columns of a user-item matrix; diagonal 0."""
    x = train.tocsc().astype(np.float64)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    sim = (x.T @ x).toarray() / np.outer(norms, norms)
    np.fill_diagonal(sim, 0.0)
    return sim


def item_knn_scores(train, similarity: np.ndarray) -> np.ndarray:
    """Item-item collaborative filtering: a user's score for an item is the summed similarity
    of that item to everything the user interacted with."""
    return np.asarray(train @ similarity)


# Features -----------------------------------------------------------------------------------

def user_features(users: pd.DataFrame) -> np.ndarray:
    """Engineered user features: age bucket, gender and occupation, one-hot (float32, one row per user)."""
    age = pd.cut(users["age"], bins=[0, 17, 24, 34, 44, 49, 55, 200], labels=False)
    parts = [pd.get_dummies(age, prefix="age"), pd.get_dummies(users["gender"], prefix="gender"),
             pd.get_dummies(users["occupation"], prefix="occ")]
    return pd.concat(parts, axis=1).to_numpy(np.float32)


def item_features(items: pd.DataFrame) -> np.ndarray:
    """Engineered item features: genre flags and the release decade, one-hot (float32, one row per item)."""
    decade = (items["year"].fillna(items["year"].median()) // 10 * 10).astype(int)
    parts = [items[list(GENRES)].astype(np.float32), pd.get_dummies(decade, prefix="decade")]
    return pd.concat(parts, axis=1).to_numpy(np.float32)


# Models ---------------------------------------------------------------------------------------

@dataclass
class ModelOutput:
    """What the models return: scores (``logits``) and, when called with ``labels``, their own loss."""

    logits: torch.Tensor
    loss: torch.Tensor | None = None


class RatingModel(nn.Module):
    """Predicts a rating: user and item vectors (an embedding plus a projection of the features)
    dotted, plus user and item biases, squashed into the rating range.

    user_feats, item_feats: one feature row per user / item (``user_features``, ``item_features``);
        kept as buffers, so they travel with the weights.
    l2: weight of the squared norm of the batch's embeddings in the loss (the regulariser that
        keeps 100k ratings from being memorised).
    Called with ``labels`` it returns its own loss: MSE plus the ``l2`` penalty.
    """

    def __init__(self, n_users: int, n_items: int, user_feats: np.ndarray, item_feats: np.ndarray,
                 dim: int = 64, l2: float = 0.1, rating_range: tuple[float, float] = (1.0, 5.0)):
        super().__init__()
        self.user_emb, self.item_emb = nn.Embedding(n_users, dim), nn.Embedding(n_items, dim)
        self.user_bias, self.item_bias = nn.Embedding(n_users, 1), nn.Embedding(n_items, 1)
        self.user_proj = nn.Linear(user_feats.shape[1], dim, bias=False)
        self.item_proj = nn.Linear(item_feats.shape[1], dim, bias=False)
        self.register_buffer("user_feats", torch.as_tensor(user_feats))
        self.register_buffer("item_feats", torch.as_tensor(item_feats))
        for emb in (self.user_emb, self.item_emb):
            nn.init.normal_(emb.weight, std=0.01)
        for emb in (self.user_bias, self.item_bias):
            nn.init.zeros_(emb.weight)
        nn.init.normal_(self.user_proj.weight, std=0.01)
        nn.init.normal_(self.item_proj.weight, std=0.01)
        self.l2 = l2
        self.low, self.high = rating_range

    def vectors(self, user, item):
        u = self.user_emb(user) + self.user_proj(self.user_feats[user])
        v = self.item_emb(item) + self.item_proj(self.item_feats[item])
        return u, v

    def forward(self, user, item, labels=None) -> ModelOutput:
        u, v = self.vectors(user, item)
        raw = (u * v).sum(-1) + self.user_bias(user).squeeze(-1) + self.item_bias(item).squeeze(-1)
        # a little beyond the range, so that 1 and 5 are reachable
        pred = self.low - 0.5 + (self.high - self.low + 1.0) * torch.sigmoid(raw)
        loss = None
        if labels is not None:
            penalty = (u.pow(2).sum(-1) + v.pow(2).sum(-1)).mean()
            loss = F.mse_loss(pred, labels.float()) + self.l2 * penalty
        return ModelOutput(logits=pred, loss=loss)


class HistoryEncoder(nn.Module):
    """Scores every item for a user from the items they interacted with (Mult-DAE style).

    The history (a 0/1 vector over items, L2-normalised, with dropout while training) and the
    user's features are encoded into a user vector; item vectors are an embedding plus a
    projection of the item features; a softmax over all items is trained to put the user's items
    first. Called with ``labels`` (the items to predict; -1 marks seen items in validation labels,
    which carry no weight) it returns the multinomial log-likelihood loss.
    """

    def __init__(self, n_items: int, user_feats_dim: int, item_feats: np.ndarray, dim: int = 200,
                 dropout: float = 0.5):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encode = nn.Linear(n_items, dim)
        self.encode_user = nn.Linear(user_feats_dim, dim, bias=False)
        self.item_emb = nn.Parameter(torch.empty(n_items, dim))
        self.item_proj = nn.Linear(item_feats.shape[1], dim, bias=False)
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        self.register_buffer("item_feats", torch.as_tensor(item_feats))
        nn.init.xavier_uniform_(self.item_emb)

    def forward(self, history, user_features, labels=None) -> ModelOutput:
        x = self.drop(F.normalize(history, dim=-1))
        h = torch.tanh(self.encode(x) + self.encode_user(user_features))
        items = self.item_emb + self.item_proj(self.item_feats)
        logits = h @ items.T + self.item_bias
        loss = None
        if labels is not None:
            loss = -(F.log_softmax(logits, dim=-1) * labels.clamp(min=0)).sum(-1).mean()
        return ModelOutput(logits=logits, loss=loss)


def ndcg_from_scores(y_true: np.ndarray, scores: np.ndarray, k: int = 10) -> float:
    """nDCG@k of score rows, for ``fit``'s validation: ``y_true`` > 0 marks relevant items and
    < 0 items to leave out (already seen); users without relevant items are skipped."""
    recs = top_k(scores, k, exclude=y_true < 0)
    return ranking_metrics(recs, y_true > 0, k=k)[f"ndcg@{k}"]
