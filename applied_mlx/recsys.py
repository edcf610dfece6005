"""Day 1, recommendation: MovieLens data, the benchmark split, top-k scoring and the baselines.

The evaluation protocol is microsoft/recommenders' MovieLens benchmark: a per-user stratified
75/25 split, top-10 with each user's training items removed, every held-out item relevant
(``applied_mlx.metrics.ranking_metrics``). ``settings(profile)`` holds each profile's data set and
epoch limits; ``load_ratings(dataset, profile)`` loads MovieLens 100k or any ratings CSV.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from .artifacts import ArtifactError, as_dict, positive
from .metrics import mae, ranking_metrics, rmse
from .training import FitResult, fit, tensor_loader

GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
          "War", "Western")

SETTINGS = {
    # a small generated data set with real structure, a few epochs: what the tests run
    "smoke": dict(data="synthetic", rank_epochs=8, rate_epochs=4, loop_epochs=2, tab_epochs=3),
    # the real MovieLens 100k on a CPU; early stopping decides how many of the epochs are used
    "quick": dict(data="movielens-100k", rank_epochs=200, rate_epochs=30, loop_epochs=6, tab_epochs=20),
    # the same: MovieLens 100k is small enough that a GPU changes nothing but the speed
    "full": dict(data="movielens-100k", rank_epochs=200, rate_epochs=30, loop_epochs=6, tab_epochs=20),
}


def settings(profile: str) -> dict:
    """A copy of the Day 1 settings for ``profile`` (smoke, quick or full): data set and epoch limits."""
    if profile not in SETTINGS:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(SETTINGS)}")
    return dict(SETTINGS[profile])


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

    @classmethod
    def from_table(cls, ratings, users=None, items=None, **columns) -> RatingData:
        """A ``RatingData`` from any ratings table (DataFrame or CSV path): see ``ratings_from_table``."""
        return ratings_from_table(ratings, users, items, **columns)

    def __repr__(self) -> str:
        return (f"RatingData({self.name!r}: {len(self.ratings):,} ratings, {self.n_users:,} users, "
                f"{self.n_items:,} items, density {len(self.ratings) / (self.n_users * self.n_items):.2%})")


ID = "movielens_id"  # the id column of the user and item tables: the ids the Recommender takes and returns
DESCRIPTIVE = ("movielens_id", "original_id", "title", "year")  # item columns that are not genre flags


def _read_table(table, what: str) -> pd.DataFrame:
    """A DataFrame as given, or read from a CSV path; ValueError for anything else."""
    if isinstance(table, pd.DataFrame):
        return table.copy()
    if isinstance(table, (str, Path)):
        return pd.read_csv(table)
    raise ValueError(f"the {what} table must be a pandas DataFrame or a CSV path, got {type(table).__name__}")


def _require(frame: pd.DataFrame, what: str, needed: dict[str, str]) -> None:
    """ValueError naming every missing column, what it is for, and the columns the table has."""
    missing = [col for col in needed.values() if col not in frame.columns]
    if missing:
        roles = ", ".join(f"{role}={col!r}" for role, col in needed.items())
        raise ValueError(f"the {what} table has no column {', '.join(map(repr, missing))}; it needs {roles} (pass "
                         f"the *_col arguments to name yours), and has {', '.join(map(repr, frame.columns))}")


def _id_table(*ids: pd.Series) -> pd.DataFrame:
    """Contiguous ids 0..n-1 for the distinct ``ids``, in sorted order. Whole-number ids are kept as
    ``movielens_id`` (what callers pass in); other ids (strings) are kept as ``original_id`` and
    ``movielens_id`` numbers them 1..n."""
    if all(pd.api.types.is_integer_dtype(i) for i in ids):
        return pd.DataFrame({ID: np.unique(np.concatenate([i.to_numpy(np.int64) for i in ids]))})
    unique = np.unique(np.concatenate([i.astype(str).to_numpy() for i in ids]))
    return pd.DataFrame({ID: np.arange(1, len(unique) + 1), "original_id": unique})


def _keyed(table: pd.DataFrame | None, ids: pd.DataFrame) -> pd.DataFrame | None:
    """``table`` indexed by its ``id`` column, in the type of ``ids``' key; the last row of a repeated id wins."""
    if table is None:
        return None
    table = table.drop_duplicates("id", keep="last").set_index("id")
    if "original_id" in ids:
        table.index = table.index.astype(str)
    return table.drop(columns=[c for c in (ID, "original_id") if c in table])


def _check_ratings_table(ratings: pd.DataFrame) -> None:
    """ValueError for an empty table, missing ids, non-numeric or non-finite ratings, repeated (user, item)
    pairs or a scale of a single value."""
    if ratings.empty:
        raise ValueError("the ratings table is empty; it needs at least one (user, item, rating) row")
    for col in ("user", "item"):
        if ratings[col].isna().any():
            raise ValueError(f"{int(ratings[col].isna().sum())} rating(s) have no {col} id; every row needs one")
    stars = pd.to_numeric(ratings["rating"], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(stars)
    if bad.any():
        user, item, shown = _row(ratings, int(np.argmax(bad)))
        raise ValueError(f"{int(bad.sum())} rating(s) are not finite numbers, e.g. user {user!r}, item {item!r}: "
                         f"{shown!r}")
    repeated = ratings.duplicated(["user", "item"])
    if repeated.any():
        user, item, _ = _row(ratings, int(np.argmax(repeated.to_numpy())))
        raise ValueError(f"{int(repeated.sum())} (user, item) pair(s) are rated more than once, e.g. user "
                         f"{user!r}, item {item!r}; keep one rating per pair (e.g. the latest)")
    if stars.min() == stars.max():
        raise ValueError(f"every rating is {stars.min():g}; a rating scale needs at least two different values")


def _row(ratings: pd.DataFrame, i: int) -> tuple:
    """(user, item, rating) of row ``i`` as plain Python values, for messages."""
    return tuple(ratings[col].tolist()[i] for col in ("user", "item", "rating"))


def _genre_flags(genres: pd.Series) -> pd.DataFrame:
    """One 0/1 column per genre from lists or ``|``-joined strings (a missing entry has none)."""
    lists = genres.map(lambda g: [str(x) for x in g] if isinstance(g, (list, tuple, set, np.ndarray))
                       else [] if pd.isna(g) or g == "" else str(g).split("|"))
    names = sorted({g for gs in lists for g in gs})
    return pd.DataFrame({name: lists.map(lambda gs, n=name: int(n in gs)) for name in names}, index=genres.index)


def _item_table(ids: pd.DataFrame, items: pd.DataFrame | None, title_col: str, genres_col: str) -> pd.DataFrame:
    """``movielens_id`` (and ``original_id``), ``title``, ``year``, genre flags and the item table's other
    columns, one row per item id."""
    key = "original_id" if "original_id" in ids else ID
    out = ids.copy()
    if items is not None:
        items = items.rename(columns={title_col: "title"})
        flags = _genre_flags(items.pop(genres_col)) if genres_col in items else None
        out = out.join(items, on=key)
        if flags is not None:
            out = out.join(flags.reindex(out[key]).fillna(0).astype(int).set_axis(out.index))
    # an item without a title is shown by its id
    title = out["title"] if "title" in out else pd.Series(np.nan, index=out.index)
    out["title"] = title.where(title.notna() & (title.astype(str) != ""), out[key].astype(str)).astype(str)
    if "year" not in out:  # "Toy Story (1995)": the year closing a title
        out["year"] = pd.to_numeric(out["title"].str.extract(r"\((\d{4})\)\s*$")[0], errors="coerce")
    return out[[*[c for c in DESCRIPTIVE if c in out], *[c for c in out if c not in DESCRIPTIVE]]]


def _user_table(ids: pd.DataFrame, users: pd.DataFrame | None) -> pd.DataFrame:
    """``movielens_id`` (and ``original_id``) and the user table's other columns, one row per user id."""
    return ids if users is None else ids.join(users, on="original_id" if "original_id" in ids else ID)


def ratings_from_table(ratings, users=None, items=None, *, user_col: str = "user", item_col: str = "item",
                       rating_col: str = "rating", timestamp_col: str = "timestamp", title_col: str = "title",
                       genres_col: str = "genres", name: str = "ratings") -> RatingData:
    """A ``RatingData`` from any ratings table: a DataFrame or CSV path of user, item, rating and an
    optional timestamp, with ids of any kind (whole numbers with gaps, strings).

    Ids become contiguous 0-based row ids in sorted order; the user and item tables keep the original
    ids as ``movielens_id`` (whole numbers) or ``original_id`` (strings, with ``movielens_id`` = 1..n).
    users / items: optional tables keyed by ``user_col`` / ``item_col``; items may carry ``title_col``
    (an item without one is titled by its id), ``year`` and ``genres_col`` (a list or an ``A|B|C``
    string, expanded to one 0/1 column per genre) and other columns, kept as they are. The catalogue is
    every id of the ratings and of these tables (an item nobody rated can still be recommended).
    A (user, item) pair rated twice is a ValueError: which of the two is meant is the caller's choice.
    """
    frame = _read_table(ratings, "ratings")
    _require(frame, "ratings", {"user_col": user_col, "item_col": item_col, "rating_col": rating_col})
    cols = {user_col: "user", item_col: "item", rating_col: "rating"}
    if timestamp_col in frame:
        cols[timestamp_col] = "timestamp"
    frame = frame[list(cols)].rename(columns=cols)
    _check_ratings_table(frame)
    frame["rating"] = pd.to_numeric(frame["rating"])
    tables = []
    for table, key, what in ((users, user_col, "user"), (items, item_col, "item")):
        if table is not None:
            table = _read_table(table, what)
            _require(table, what, {f"{what}_col": key})
            table = table.rename(columns={key: "id"})
        tables.append(table)
    # the catalogue is every id of the ratings and of the user / item tables (an item may be unrated)
    user_ids = _id_table(frame["user"], *([] if tables[0] is None else [tables[0]["id"]]))
    item_ids = _id_table(frame["item"], *([] if tables[1] is None else [tables[1]["id"]]))
    out = pd.DataFrame({"user": _row_ids(frame["user"], user_ids), "item": _row_ids(frame["item"], item_ids),
                        "rating": frame["rating"].to_numpy()})
    if "timestamp" in frame:
        out["timestamp"] = frame["timestamp"].to_numpy()
    return RatingData(ratings=out, users=_user_table(user_ids, _keyed(tables[0], user_ids)),
                      items=_item_table(item_ids, _keyed(tables[1], item_ids), title_col, genres_col), name=name)


def _row_ids(ids: pd.Series, table: pd.DataFrame) -> np.ndarray:
    """The 0-based row of each id in ``table`` (built by ``_id_table`` from the same ids)."""
    key = "original_id" if "original_id" in table else ID
    lookup = pd.Series(np.arange(len(table)), index=table[key])
    return lookup.loc[ids.astype(str) if key == "original_id" else ids].to_numpy(np.int64)


def load_movielens_100k(root: str | Path | None = None) -> RatingData:
    """MovieLens 100k from its extracted folder (default: ``fetch("movielens-100k")``).

    MovieLens ids start at 1 and have no gaps; they become ``id - 1``. The original id is kept
    as ``movielens_id`` in the user and item tables. The files are read here and built by
    ``ratings_from_table``, the path every ratings table takes.
    """
    if root is None:
        from .data import fetch

        root = fetch("movielens-100k")
    root = Path(root)
    ratings = pd.read_csv(root / "u.data", sep="\t", names=["user", "item", "rating", "timestamp"])
    users = pd.read_csv(root / "u.user", sep="|", names=["user", "age", "gender", "occupation", "zip"])
    items = pd.read_csv(root / "u.item", sep="|", encoding="latin-1", header=None,
                        names=["item", "title", "release_date", "video_release_date", "imdb_url", *GENRES])
    if not (np.array_equal(users["user"], np.arange(1, len(users) + 1))
            and np.array_equal(items["item"], np.arange(1, len(items) + 1))):
        raise ValueError(f"{root}: user or item ids are not 1..n without gaps; is this MovieLens 100k?")
    items["year"] = pd.to_datetime(items["release_date"], format="%d-%b-%Y", errors="coerce").dt.year
    data = ratings_from_table(ratings, users, items[["item", "title", "year", *GENRES]], name="MovieLens 100k")
    # MovieLens keeps its file order of genre columns
    data.items = data.items[[ID, "title", "year", *GENRES]]
    return data


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
        # history lengths vary as in real data: most users rate a little, some a lot
        n = int(np.clip(rng.lognormal(np.log(density * n_items), 0.6), 5, n_items // 2))
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


def load_ratings(dataset: str | Path = "ml-100k", profile: str = "quick") -> RatingData:
    """The ratings a lesson runs on. ``"ml-100k"``: MovieLens 100k, or ``synthetic_ratings()`` in the smoke
    profile; anything else: the path of a ratings CSV with columns ``user,item,rating[,timestamp]``."""
    if str(dataset).lower() in ("ml-100k", "movielens-100k"):
        return synthetic_ratings() if settings(profile)["data"] == "synthetic" else load_movielens_100k()
    if not Path(dataset).is_file():
        raise ValueError(f"dataset must be 'ml-100k' or the path of a ratings CSV; {str(dataset)!r} is neither")
    return ratings_from_table(dataset, name=Path(dataset).stem)


def rating_range(ratings: pd.DataFrame) -> tuple[float, float]:
    """(lowest, highest) rating in ``ratings``: the scale the models predict on and new users rate on."""
    stars = ratings["rating"].to_numpy(np.float64)
    if len(stars) == 0 or stars.min() == stars.max():
        raise ValueError(f"a rating scale needs at least two different ratings, got {np.unique(stars).tolist()}")
    return float(stars.min()), float(stars.max())


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
    s = np.array(scores.detach().cpu().numpy() if hasattr(scores, "detach") else scores)
    # float32 scores stay float32 (half the memory traffic); anything else becomes float64
    s = s.astype(np.float32 if s.dtype == np.float32 else np.float64, copy=False)
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


def ease_weights(train, lam: float) -> np.ndarray:
    """EASE (Steck 2019): the (items x items) weights ``B`` that best rebuild ``X`` from ``X @ B`` with a
    zero diagonal, ridge ``lam``: ``B = I - P / diag(P)`` with ``P = (X^T X + lam I)^-1``."""
    _finite("lam", lam)
    x = train.tocsr() if sp.issparse(train) else sp.csr_matrix(np.asarray(train))
    gram = (x.T @ x).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    p = np.linalg.inv(gram)
    weights = -p / np.diag(p)  # column j divided by P_jj
    np.fill_diagonal(weights, 0.0)  # the closed form of the zero-diagonal constraint
    return weights


def ease_scores(train, lam: float = 500.0) -> np.ndarray:
    """EASE scores (users x items): each user's interactions times ``ease_weights(train, lam)``."""
    x = train.tocsr() if sp.issparse(train) else sp.csr_matrix(np.asarray(train))
    return np.asarray(x @ ease_weights(x, lam))


def choose_ease_lambda(train, val, grid=(50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0), k: int = 10):
    """The ``lam`` of ``grid`` with the best nDCG@k on ``val``, and every ``lam``'s nDCG.

    train, val: (users x items) interaction matrices; ``val`` must be carved out of the training data
    (e.g. ``stratified_split`` of the training ratings), never the test set, or the choice sees the test."""
    if not len(grid):
        raise ValueError("grid must hold at least one lambda")
    relevant = val.tocsr() if sp.issparse(val) else sp.csr_matrix(np.asarray(val))
    ndcg = {float(lam): ranking_metrics(top_k(ease_scores(train, lam), k, exclude=train), relevant, k=k)[f"ndcg@{k}"]
            for lam in grid}
    return max(ndcg, key=ndcg.get), ndcg


# Features -----------------------------------------------------------------------------------

def user_features(users: pd.DataFrame) -> np.ndarray:
    """Engineered user features: age bucket, gender and occupation, one-hot (float32, one row per user).

    A table without these MovieLens columns gives the ones it has; none of them: an (n, 0) table, which
    the models take (the user is then described by their history alone)."""
    parts = []
    if "age" in users:
        age = pd.cut(users["age"], bins=[0, 17, 24, 34, 44, 49, 55, 200], labels=False)
        parts.append(pd.get_dummies(age, prefix="age"))
    parts += [pd.get_dummies(users[col], prefix=prefix) for col, prefix in (("gender", "gender"),
                                                                             ("occupation", "occ")) if col in users]
    if not parts:
        return np.zeros((len(users), 0), np.float32)
    return pd.concat(parts, axis=1).to_numpy(np.float32)


def genre_columns(items: pd.DataFrame) -> list[str]:
    """The item table's genre flags: every column but the descriptive ones (id, title, year) that holds only 0/1."""
    return [c for c in items.columns if c not in DESCRIPTIVE and pd.api.types.is_numeric_dtype(items[c])
            and items[c].isin([0, 1]).all()]


def item_features(items: pd.DataFrame) -> np.ndarray:
    """Engineered item features: genre flags and the release decade, one-hot (float32, one row per item).

    Genres are ``genre_columns(items)``; the decade needs a ``year`` column with at least one year. A table
    with neither gives an (n, 0) table, which the models take."""
    parts = [items[genre_columns(items)].astype(np.float32)]
    if "year" in items and items["year"].notna().any():
        decade = (items["year"].fillna(items["year"].median()) // 10 * 10).astype(int)
        parts.append(pd.get_dummies(decade, prefix="decade"))
    return pd.concat(parts, axis=1).to_numpy(np.float32).reshape(len(items), -1)


AGE_BINS = (0, 17, 24, 34, 44, 49, 55, 200)  # MovieLens 1M's age groups


def tabular_fields(users: pd.DataFrame) -> tuple[np.ndarray, list[int]]:
    """The categorical user fields that the table has (age bucket, gender, occupation) as integer codes:
    ``(users x fields)`` codes, 0 for a missing value, and the number of codes of each field."""
    columns = []
    if "age" in users:
        columns.append(pd.cut(users["age"], bins=list(AGE_BINS), labels=False))
    columns += [users[col] for col in ("gender", "occupation") if col in users]
    codes = [pd.factorize(col, sort=True)[0] + 1 for col in columns]  # factorize gives -1 for missing
    if not codes:
        return np.zeros((len(users), 0), np.int64), []
    return np.stack(codes, axis=1).astype(np.int64), [int(c.max()) + 1 for c in codes]


def genre_matrix(items: pd.DataFrame) -> np.ndarray:
    """(items x genres) 0/1 float32 genre flags (``genre_columns``); zero columns when there are none."""
    return items[genre_columns(items)].to_numpy(np.float32).reshape(len(items), -1)


# Models ---------------------------------------------------------------------------------------

def _finite(name: str, value: float, low: float = 0.0) -> None:
    """Raise ValueError unless ``value`` is a finite number >= ``low`` (JSON allows NaN and Infinity)."""
    if not math.isfinite(value) or value < low:
        raise ValueError(f"{name} must be a finite number >= {low:g}, got {value!r}")


def _feature_rows(name: str, feats, rows: int) -> None:
    """Raise ValueError unless the feature table ``feats`` is 2-D with one row per user or item."""
    shape = tuple(feats.shape)
    if len(shape) != 2 or shape[0] != rows:
        raise ValueError(f"{name} must be a 2-D table of {rows} rows, got shape {shape}")


def _projection(n_features: int, dim: int) -> nn.Linear:
    """A bias-free ``n_features -> dim`` layer; with no features (a table without any) it maps to zeros."""
    with warnings.catch_warnings():  # initialising a zero-width weight is a harmless no-op
        warnings.filterwarnings("ignore", "Initializing zero-element tensors is a no-op")
        return nn.Linear(n_features, dim, bias=False)


@dataclass
class RankerConfig:
    """The ``HistoryEncoder``'s constructor arguments, as saved in ``config.json`` (field ``ranker``)."""

    n_items: int
    user_feats_dim: int
    item_feats_dim: int
    dim: int = 200
    dropout: float = 0.7
    feature_scale: float = 0.1
    # the item-item linear path; off by default, so that a config saved before it existed loads as it was
    item_item: bool = False
    item_item_l2: float = 0.0
    item_item_dropout: float = 0.7

    def __post_init__(self):
        positive("n_items", self.n_items)
        positive("user_feats_dim", self.user_feats_dim, allow_zero=True)
        positive("item_feats_dim", self.item_feats_dim, allow_zero=True)
        positive("dim", self.dim)
        for name in ("dropout", "item_item_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)!r}")
        _finite("feature_scale", self.feature_scale)
        _finite("item_item_l2", self.item_item_l2)


@dataclass
class RaterConfig:
    """The ``RatingModel``'s constructor arguments, as saved in ``config.json`` (field ``rater``)."""

    n_users: int
    n_items: int
    user_feats_dim: int
    item_feats_dim: int
    dim: int = 64
    l2: float = 0.1
    rating_range: tuple[float, ...] = (1.0, 5.0)  # (low, high)

    def __post_init__(self):
        positive("n_users", self.n_users)
        positive("n_items", self.n_items)
        positive("user_feats_dim", self.user_feats_dim, allow_zero=True)
        positive("item_feats_dim", self.item_feats_dim, allow_zero=True)
        positive("dim", self.dim)
        _finite("l2", self.l2)
        bounds = self.rating_range = tuple(float(r) for r in self.rating_range)
        if len(bounds) != 2 or not all(map(math.isfinite, bounds)) or bounds[0] >= bounds[1]:
            raise ValueError(f"rating_range must be two finite numbers (low, high) with low < high, got {bounds!r}")


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
    Called with ``labels`` it returns its own loss: MSE plus the ``l2`` penalty. ``config`` holds the
    constructor arguments (a ``RaterConfig``); ``RatingModel.from_config`` builds one from it.
    """

    def __init__(self, n_users: int, n_items: int, user_feats: np.ndarray, item_feats: np.ndarray,
                 dim: int = 64, l2: float = 0.1, rating_range: tuple[float, float] = (1.0, 5.0)):
        super().__init__()
        _feature_rows("user_feats", user_feats, n_users)
        _feature_rows("item_feats", item_feats, n_items)
        self.config = cfg = RaterConfig(n_users, n_items, int(user_feats.shape[1]), int(item_feats.shape[1]), dim=dim,
                                        l2=l2, rating_range=rating_range)
        self.user_emb, self.item_emb = nn.Embedding(n_users, dim), nn.Embedding(n_items, dim)
        self.user_bias, self.item_bias = nn.Embedding(n_users, 1), nn.Embedding(n_items, 1)
        self.user_proj, self.item_proj = _projection(cfg.user_feats_dim, dim), _projection(cfg.item_feats_dim, dim)
        self.register_buffer("user_feats", torch.as_tensor(user_feats))
        self.register_buffer("item_feats", torch.as_tensor(item_feats))
        for emb in (self.user_emb, self.item_emb):
            nn.init.normal_(emb.weight, std=0.01)
        for emb in (self.user_bias, self.item_bias):
            nn.init.zeros_(emb.weight)
        nn.init.normal_(self.user_proj.weight, std=0.01)
        nn.init.normal_(self.item_proj.weight, std=0.01)
        self.l2 = cfg.l2
        self.low, self.high = cfg.rating_range

    @classmethod
    def from_config(cls, cfg: RaterConfig) -> RatingModel:
        """A model of ``cfg``'s sizes with zero feature tables (a saved state dict fills them in)."""
        return cls(cfg.n_users, cfg.n_items, torch.zeros(cfg.n_users, cfg.user_feats_dim),
                   torch.zeros(cfg.n_items, cfg.item_feats_dim), dim=cfg.dim, l2=cfg.l2, rating_range=cfg.rating_range)

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

    @torch.no_grad()
    def score_all(self) -> torch.Tensor:
        """(users x items) predicted ratings for every pair, in one call."""
        users = torch.arange(self.user_emb.num_embeddings, device=self.user_emb.weight.device)
        items = torch.arange(self.item_emb.num_embeddings, device=users.device)
        u, v = self.vectors(users, items)
        raw = u @ v.T + self.user_bias.weight + self.item_bias.weight.T
        return self.low - 0.5 + (self.high - self.low + 1.0) * torch.sigmoid(raw)


class HistoryEncoder(nn.Module):
    """Scores every item for a user from the items they interacted with (Mult-DAE style).

    The user's vector is computed from their history (0/1 over items, L2-normalised) and their
    features (times ``feature_scale``): dropout, a linear layer, tanh. So a new user folds in without
    retraining. Called with ``labels`` (the items to predict; -1 marks items to leave out) it also
    returns the multinomial log-likelihood loss. ``config``: the arguments (a ``RankerConfig``).

    item_item: add a linear path, a full (items x items) weight matrix with a zero diagonal (an EASE-like
    linear autoencoder as one layer), applied to the history after its own dropout (``item_item_dropout``)
    and summed with the nonlinear path's logits; ``item_item_l2`` times its squared weights joins the loss.
    """

    def __init__(self, n_items: int, user_feats_dim: int, item_feats: np.ndarray, dim: int = 200,
                 dropout: float = 0.7, feature_scale: float = 0.1, item_item: bool = False,
                 item_item_l2: float = 0.0, item_item_dropout: float = 0.7):
        super().__init__()
        _feature_rows("item_feats", item_feats, n_items)
        self.config = cfg = RankerConfig(n_items, user_feats_dim, int(item_feats.shape[1]), dim=dim, dropout=dropout,
                                         feature_scale=feature_scale, item_item=item_item, item_item_l2=item_item_l2,
                                         item_item_dropout=item_item_dropout)
        self.feature_scale = cfg.feature_scale
        self.drop = nn.Dropout(cfg.dropout)
        self.encode = nn.Linear(n_items + user_feats_dim, dim)
        self.item_emb = nn.Parameter(torch.empty(n_items, dim))
        self.item_proj = _projection(cfg.item_feats_dim, dim)
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        self.register_buffer("item_feats", torch.as_tensor(item_feats))
        nn.init.xavier_uniform_(self.item_emb)
        # the linear path: item-item weights (a diagonal of zeros: an item may not predict itself), from zero
        self.item_item = nn.Parameter(torch.zeros(n_items, n_items)) if cfg.item_item else None
        self.item_item_drop = nn.Dropout(cfg.item_item_dropout)
        self.item_item_l2 = cfg.item_item_l2

    @classmethod
    def from_config(cls, cfg: RankerConfig) -> HistoryEncoder:
        """A model of ``cfg``'s sizes with a zero item-feature table (a saved state dict fills it in)."""
        return cls(cfg.n_items, cfg.user_feats_dim, torch.zeros(cfg.n_items, cfg.item_feats_dim), dim=cfg.dim,
                   dropout=cfg.dropout, feature_scale=cfg.feature_scale, item_item=cfg.item_item,
                   item_item_l2=cfg.item_item_l2, item_item_dropout=cfg.item_item_dropout)

    def item_vectors(self) -> torch.Tensor:
        """(items x dim): what each item looks like to the model."""
        return self.item_emb + self.item_proj(self.item_feats)

    def item_item_weights(self) -> torch.Tensor | None:
        """(items x items) weights of the linear path with the diagonal zeroed, or None without that path."""
        if self.item_item is None:
            return None
        return self.item_item - torch.diag_embed(torch.diagonal(self.item_item))

    def forward(self, history, user_features, labels=None) -> ModelOutput:
        x = torch.cat([F.normalize(history, dim=-1), self.feature_scale * user_features], dim=-1)
        user = torch.tanh(self.encode(self.drop(x)))
        logits = user @ self.item_vectors().T + self.item_bias
        weights = self.item_item_weights()
        if weights is not None:  # EASE-like: the (dropped-out) history times the item-item weights
            logits = logits + self.item_item_drop(history) @ weights
        loss = None
        if labels is not None:
            loss = -(F.log_softmax(logits, dim=-1) * labels.clamp(min=0)).sum(-1).mean()
            if weights is not None and self.item_item_l2 > 0:
                loss = loss + self.item_item_l2 * weights.pow(2).sum()
        return ModelOutput(logits=logits, loss=loss)


class DotProductModel(nn.Module):
    """The plainest rating model: a global mean, a user and an item bias, and the dot product of a
    user and an item embedding. ``score_all`` predicts every (user, item) pair at once."""

    def __init__(self, n_users: int, n_items: int, dim: int = 32, mean: float = 3.5):
        super().__init__()
        self.user_emb, self.item_emb = nn.Embedding(n_users, dim), nn.Embedding(n_items, dim)
        self.user_bias, self.item_bias = nn.Embedding(n_users, 1), nn.Embedding(n_items, 1)
        self.mean = float(mean)
        for emb in (self.user_emb, self.item_emb):
            nn.init.normal_(emb.weight, std=0.01)
        for emb in (self.user_bias, self.item_bias):
            nn.init.zeros_(emb.weight)

    def forward(self, user, item):
        dot = (self.user_emb(user) * self.item_emb(item)).sum(-1)
        return self.mean + self.user_bias(user).squeeze(-1) + self.item_bias(item).squeeze(-1) + dot

    @torch.no_grad()
    def score_all(self) -> torch.Tensor:
        """(users x items) predicted ratings."""
        dot = self.user_emb.weight @ self.item_emb.weight.T
        return self.mean + self.user_bias.weight + self.item_bias.weight.T + dot


class TabularNet(nn.Module):
    """A tabular network for ratings: an embedding per categorical column (user, item and each user
    field: age bucket, gender, occupation) and a bag of genre embeddings (the mean over the item's
    genres), concatenated into an MLP whose output is squashed into the rating range.

    user_fields: (users x fields) integer codes, ``field_sizes`` codes per field; item_genres:
    (items x genres) 0/1. Either may have zero columns: the network embeds only what exists.
    """

    def __init__(self, n_users: int, n_items: int, user_fields, field_sizes, item_genres, dim: int = 16,
                 hidden: int = 64, dropout: float = 0.2, rating_range: tuple[float, float] = (1.0, 5.0)):
        super().__init__()
        _feature_rows("user_fields", user_fields, n_users)
        _feature_rows("item_genres", item_genres, n_items)
        self.user_emb, self.item_emb = nn.Embedding(n_users, dim), nn.Embedding(n_items, dim)
        self.field_embs = nn.ModuleList(nn.Embedding(int(size), dim) for size in field_sizes)
        self.genre_emb = nn.Parameter(0.1 * torch.randn(item_genres.shape[1], dim))
        self.register_buffer("user_fields", torch.tensor(user_fields, dtype=torch.long))
        self.register_buffer("item_genres", torch.tensor(item_genres, dtype=torch.float32))
        width = dim * (2 + len(self.field_embs) + int(item_genres.shape[1] > 0))
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))
        self.low, self.high = rating_range

    def forward(self, user, item, labels=None) -> ModelOutput:
        parts = [self.user_emb(user), self.item_emb(item)]
        parts += [emb(self.user_fields[user, f]) for f, emb in enumerate(self.field_embs)]
        if len(self.genre_emb):  # multi-hot genres -> the mean of their embeddings
            genres = self.item_genres[item]
            parts.append(genres @ self.genre_emb / genres.sum(-1, keepdim=True).clamp(min=1.0))
        raw = self.mlp(torch.cat(parts, dim=-1)).squeeze(-1)
        pred = self.low - 0.5 + (self.high - self.low + 1.0) * torch.sigmoid(raw)
        loss = None if labels is None else F.mse_loss(pred, labels.float())
        return ModelOutput(logits=pred, loss=loss)


@torch.no_grad()
def predict_all_ratings(model: nn.Module, n_users: int, n_items: int, users_per_batch: int = 64) -> np.ndarray:
    """(users x items) predictions of a ``model(user, item)`` rating model, a block of users at a time."""
    model.eval()
    device = next(model.parameters()).device
    items = torch.arange(n_items, device=device)
    rows = []
    for start in range(0, n_users, users_per_batch):
        users = torch.arange(start, min(start + users_per_batch, n_users), device=device)
        out = model(users.repeat_interleave(n_items), items.repeat(len(users)))
        rows.append(getattr(out, "logits", out).reshape(len(users), n_items).cpu().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, n_items), np.float32)


def ndcg_from_scores(y_true: np.ndarray, scores: np.ndarray, k: int = 10) -> float:
    """nDCG@k of score rows, for ``fit``'s validation: ``y_true`` > 0 marks relevant items and
    < 0 items to leave out (already seen); users without relevant items are skipped."""
    recs = top_k(scores, k, exclude=y_true < 0)
    return ranking_metrics(recs, y_true > 0, k=k)[f"ndcg@{k}"]


# Training -------------------------------------------------------------------------------------

def rating_loader(ratings: pd.DataFrame, batch_size: int = 1024, shuffle: bool = False,
                  seed: int | None = None):
    """Batches ``{"user", "item", "labels"}`` of a ratings frame, for ``RatingModel``."""
    return tensor_loader({"user": torch.tensor(ratings["user"].to_numpy(np.int64)),
                          "item": torch.tensor(ratings["item"].to_numpy(np.int64)),
                          "labels": torch.tensor(ratings["rating"].to_numpy(np.float32))},
                         batch_size, shuffle=shuffle, seed=seed)


def history_loader(history, user_feats: np.ndarray, labels, batch_size: int = 128, shuffle: bool = False,
                   seed: int | None = None):
    """Batches ``{"history", "user_features", "labels"}``, one row per user, for ``HistoryEncoder``.

    history, labels: (users x items) 0/1 matrices, dense or sparse; in labels -1 marks items to
    leave out of the loss and the metric (the ones already in the history).
    """
    def dense(x):
        return torch.as_tensor(x.toarray() if sp.issparse(x) else np.asarray(x), dtype=torch.float32)

    return tensor_loader({"history": dense(history), "user_features": torch.as_tensor(user_feats, dtype=torch.float32),
                          "labels": dense(labels)}, batch_size, shuffle=shuffle, seed=seed)


@dataclass
class TrainingRun:
    """A model trained in two stages, and both stages' histories.

    selection: trained on the training set minus a validation slice, early-stopped on it; it
        picks the number of epochs. final: retrained from scratch on the whole training set for
        that many epochs (more data, same recipe), which is the model returned.
    """

    model: nn.Module
    selection: FitResult
    final: FitResult

    @property
    def epochs(self) -> int:
        return len(self.final.history)

    @property
    def seconds(self) -> float:
        return self.selection.seconds + self.final.seconds


def _select_then_refit(make_model, fit_loader, val_loader, full_loader, *, metric, monitor, max_epochs, patience,
                       lr, seed, progress, make_final=None, make_optimizer=None) -> TrainingRun:
    """make_final: builds the refit's model (default ``make_model``), for a start computed from all the data;
    make_optimizer: model -> optimizer (default: ``fit``'s AdamW at ``lr``)."""
    def optimizer(model):
        return None if make_optimizer is None else make_optimizer(model)

    torch.manual_seed(seed)
    first = make_model()
    selection = fit(first, fit_loader, val_loader, optimizer=optimizer(first), lr=lr, num_epochs=max_epochs,
                    metrics=metric, monitor=monitor, patience=patience, seed=seed, progress=progress)
    torch.manual_seed(seed)
    model = (make_final or make_model)()
    final = fit(model, full_loader, optimizer=optimizer(model), lr=lr, num_epochs=selection.best_epoch,
                restore_best=False, seed=seed, progress=progress)
    return TrainingRun(model=model, selection=selection, final=final)


def train_rating_model(data: RatingData, train: pd.DataFrame, *, dim: int = 128, l2: float = 0.1, lr: float = 2e-3,
                       batch_size: int = 256, max_epochs: int = 30, patience: int = 3, val_fraction: float = 0.1,
                       seed: int = 0, progress: bool = True) -> TrainingRun:
    """Train a ``RatingModel`` on ``train`` (MSE on the stars, on the scale of ``train``'s lowest to highest
    rating); epochs chosen on a per-user validation slice of ``train`` by RMSE, then a refit on all of ``train``."""
    fit_part, val_part = stratified_split(train, 1.0 - val_fraction, seed=seed)
    uf, itf = user_features(data.users), item_features(data.items)

    scale = rating_range(train)  # the data's own scale: 1-5 stars, 0.5-5 in half stars, ...

    def make_model():
        return RatingModel(data.n_users, data.n_items, uf, itf, dim=dim, l2=l2, rating_range=scale)

    return _select_then_refit(
        make_model, rating_loader(fit_part, batch_size, shuffle=True, seed=seed),
        rating_loader(val_part, 8192), rating_loader(train, batch_size, shuffle=True, seed=seed),
        metric={"rmse": rmse}, monitor="val_rmse", max_epochs=max_epochs, patience=patience, lr=lr, seed=seed,
        progress=progress)


def train_ranking_model(data: RatingData, train: pd.DataFrame, *, dim: int = 200, dropout: float = 0.7,
                        feature_scale: float = 0.1, item_item: bool = True, item_item_l2: float = 0.03,
                        item_item_dropout: float = 0.7, ease_lambda: float | None = None, ease_scale: float = 10.0,
                        item_item_lr: float | None = None, lr: float = 1e-3, batch_size: int = 128,
                        max_epochs: int = 200, patience: int = 20, val_fraction: float = 0.1, seed: int = 0,
                        progress: bool = True) -> TrainingRun:
    """Train a ``HistoryEncoder`` on ``train`` (softmax over items: implicit feedback); epochs
    chosen on a per-user validation slice of ``train`` by nDCG@10, then a refit on all of ``train``.

    The defaults are the settings chosen on that validation slice (studies/day1/README.md), the item-item
    path included. ease_lambda: with ``item_item``, start the item-item weights at ``ease_scale`` times EASE's
    closed form (``ease_weights``) of the ratings that stage trains on; None: start them at zero.
    item_item_lr: the item-item weights' own learning rate (None: ``lr``)."""
    fit_part, val_part = stratified_split(train, 1.0 - val_fraction, seed=seed)
    uf, itf = user_features(data.users), item_features(data.items)
    fit_history = interaction_matrix(fit_part, data.n_users, data.n_items)
    val_labels = interaction_matrix(val_part, data.n_users, data.n_items) - fit_history
    full_history = interaction_matrix(train, data.n_users, data.n_items)

    def make_model(history=fit_history):
        model = HistoryEncoder(data.n_items, uf.shape[1], itf, dim=dim, dropout=dropout, feature_scale=feature_scale,
                               item_item=item_item, item_item_l2=item_item_l2, item_item_dropout=item_item_dropout)
        if item_item and ease_lambda is not None:
            with torch.no_grad():
                model.item_item.copy_(torch.as_tensor(ease_scale * ease_weights(history, ease_lambda)))
        return model

    def make_optimizer(model):  # the item-item weights learn at their own rate
        rest = [p for name, p in model.named_parameters() if name != "item_item"]
        return torch.optim.AdamW([{"params": rest}, {"params": [model.item_item], "lr": item_item_lr}], lr=lr,
                                 weight_decay=0.0)

    return _select_then_refit(
        make_model, history_loader(fit_history, uf, fit_history, batch_size, shuffle=True, seed=seed),
        history_loader(fit_history, uf, val_labels, 1024),
        history_loader(full_history, uf, full_history, batch_size, shuffle=True, seed=seed),
        metric={"ndcg@10": ndcg_from_scores}, monitor="val_ndcg@10", max_epochs=max_epochs, patience=patience,
        lr=lr, seed=seed, progress=progress, make_final=lambda: make_model(full_history),
        make_optimizer=None if not item_item or item_item_lr is None else make_optimizer)


def train_tabular_model(data: RatingData, train: pd.DataFrame, *, dim: int = 16, hidden: int = 64,
                        dropout: float = 0.2, lr: float = 1e-2, batch_size: int = 1024, max_epochs: int = 20,
                        patience: int = 2, val_fraction: float = 0.1, seed: int = 0,
                        progress: bool = True) -> TrainingRun:
    """Train a ``TabularNet`` on ``train`` (MSE on the stars) with the user fields and genres ``data`` has;
    epochs chosen on a per-user validation slice of ``train`` by RMSE, then a refit on all of ``train``."""
    fit_part, val_part = stratified_split(train, 1.0 - val_fraction, seed=seed)
    fields, sizes = tabular_fields(data.users)
    genres = genre_matrix(data.items)
    scale = rating_range(train)

    def make_model():
        return TabularNet(data.n_users, data.n_items, fields, sizes, genres, dim=dim, hidden=hidden,
                          dropout=dropout, rating_range=scale)

    return _select_then_refit(
        make_model, rating_loader(fit_part, batch_size, shuffle=True, seed=seed),
        rating_loader(val_part, 8192), rating_loader(train, batch_size, shuffle=True, seed=seed),
        metric={"rmse": rmse}, monitor="val_rmse", max_epochs=max_epochs, patience=patience, lr=lr, seed=seed,
        progress=progress)


# Inference ------------------------------------------------------------------------------------

COMPONENT = "day1-recommender"
# a rating in the top 40% of the scale is "liked" when explaining a recommendation: 4 and 5 of 1-5 stars,
# 3.5 to 5 of 0.5-5 half stars
LIKED_FRACTION = 0.6


def liked_threshold(scale: tuple[float, float]) -> float:
    """The lowest "liked" rating on the scale ``(low, high)``: ``low + LIKED_FRACTION * (high - low)``."""
    low, high = scale
    return low + LIKED_FRACTION * (high - low)


REASON_SIMILARITY = 0.15  # below this item-item cosine, a liked movie does not explain a pick
MAX_TITLE_CHARS = 500  # a title query longer than this is not a title (and fuzzy matching it would be slow)


@dataclass
class Recommendation:
    """One recommended item. ``score``: the model's probability that this is the user's next
    movie, among the movies they have not rated (or the cosine similarity, for ``similar_items``)."""

    item_id: int
    title: str
    score: float
    reason: str
    predicted_rating: float | None = None


@dataclass
class Recommendations:
    """The answer to a recommendation request: a list of ``Recommendation`` and what it is based on.

    cold_start: True when the user was unknown, so the list is the most popular items, not personal.
    """

    user_id: int | None
    items: list[Recommendation]
    cold_start: bool = False
    note: str = ""

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i) -> Recommendation:
        return self.items[i]

    def to_frame(self) -> pd.DataFrame:
        """One row per item: item_id, title, score, predicted_rating, reason."""
        frame = pd.DataFrame([r.__dict__ for r in self.items],
                             columns=["item_id", "title", "score", "predicted_rating", "reason"])
        return frame.dropna(axis=1, how="all")

    def _repr_html_(self) -> str:
        head = f"<p>{self.note}</p>" if self.note else ""
        return head + self.to_frame()._repr_html_()


class _Parts(nn.Module):
    """What a Recommender saves in ``model.safetensors``: its models and the user features."""

    def __init__(self, ranker: HistoryEncoder, user_feats, rater: RatingModel | None = None):
        super().__init__()
        self.ranker, self.rater = ranker, rater
        self.register_buffer("user_feats", torch.as_tensor(user_feats, dtype=torch.float32))

    @classmethod
    def from_config(cls, n_users: int, ranker: RankerConfig, rater: RaterConfig | None) -> _Parts:
        """Models of the configured sizes and a zero user-feature table; no NumPy arrays, so that the
        whole build can run on the ``meta`` device (``Artifact.load_module``)."""
        return cls(HistoryEncoder.from_config(ranker), torch.zeros(n_users, ranker.user_feats_dim),
                   None if rater is None else RatingModel.from_config(rater))


def _on_cpu(model: nn.Module | None) -> nn.Module | None:
    """``model`` if it is on the CPU, else a CPU copy: the Recommender serves from the CPU (its
    inputs and outputs are NumPy), and a model trained on a GPU stays there for the caller."""
    if model is None or all(p.device.type == "cpu" for p in model.parameters()):
        return model
    return copy.deepcopy(model).cpu()


class Recommender:
    """Top-N recommendations with reasons, for known users, new users (fold-in) and items.

    Ids in and out are the data set's own ids, the tables' ``movielens_id`` (MovieLens: users 1-943,
    items 1-1682; a table of string ids numbers them 1..n and keeps the strings as ``original_id``);
    an item can also be named by its title. Ratings in and out are on the data's own scale
    (``rating_range``). Ranking comes from the ``HistoryEncoder``, the predicted stars from the
    ``RatingModel`` (optional), the reasons and ``similar_items`` from item-item cosine similarity
    over the training interactions.

    Built with ``Recommender.from_training(data, train, ranker, rater)``; saved with ``save(dir)``;
    loaded with ``Recommender.load(dir)``. ``k``, the length of a list, may be any positive integer:
    more than the catalogue holds gives every item that can be recommended.
    """

    COMPONENT = COMPONENT

    def __init__(self, ranker: HistoryEncoder, items: pd.DataFrame, users: pd.DataFrame, train: pd.DataFrame,
                 user_feats: np.ndarray, rater: RatingModel | None = None, config: dict | None = None):
        self.parts = _Parts(_on_cpu(ranker), user_feats, _on_cpu(rater)).eval()
        self.items = items.reset_index(drop=True)
        self.users = users.reset_index(drop=True)
        self.train = train[["user", "item", "rating"]].reset_index(drop=True)
        self.config = dict(config or {})
        self._item_index = {int(m): i for i, m in enumerate(self.items["movielens_id"])}
        self._user_index = {int(m): i for i, m in enumerate(self.users["movielens_id"])}
        n_users, n_items = len(self.users), len(self.items)
        self.stars = sp.csr_matrix((self.train["rating"].to_numpy(np.float32),
                                    (self.train["user"].to_numpy(), self.train["item"].to_numpy())),
                                   shape=(n_users, n_items))
        self.history = interaction_matrix(self.train, n_users, n_items)
        self.popularity = popularity_scores(self.history)
        self.similarity = item_cosine_similarity(self.history)
        self._dense_history = None

    @classmethod
    def from_training(cls, data: RatingData, train: pd.DataFrame, ranker: HistoryEncoder,
                      rater: RatingModel | None = None) -> Recommender:
        """Wrap trained models with the data they were trained on."""
        return cls(ranker, data.items, data.users, train, user_features(data.users), rater, {"data": data.name})

    # ids and arguments ---------------------------------------------------------------------

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def rating_range(self) -> tuple[float, float]:
        """(low, high) of the data's rating scale: the rating model's (saved in its config), else the
        training ratings' lowest and highest."""
        if self.parts.rater is not None:
            return tuple(self.parts.rater.config.rating_range)
        stars = self.train["rating"].to_numpy(np.float64)
        if len(stars) == 0:  # nothing was rated: the rating model's default scale
            return RaterConfig.rating_range
        return float(stars.min()), float(stars.max())

    @property
    def liked(self) -> float:
        """The lowest rating that counts as "liked" on this data's scale (``liked_threshold``)."""
        return liked_threshold(self.rating_range)

    def find_item(self, item) -> int:
        """The item id of ``item``: an id, or a title (case-insensitive; the year may be left out; a
        part of a title picks the most-rated movie containing it). Raises ``ValueError`` with close titles if
        none matches."""
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if int(item) not in self._item_index:
                raise ValueError(f"no item with id {item}; ids run from {min(self._item_index)} to "
                                 f"{max(self._item_index)} (or pass a title)")
            return int(item)
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"an item is an integer id or a non-empty title, got {item!r}")
        if len(item) > MAX_TITLE_CHARS:
            raise ValueError(f"a title has at most {MAX_TITLE_CHARS} characters, got one of {len(item):,}")
        query = item.strip().lower()
        titles = self.items["title"].str.lower()
        hits = np.flatnonzero(titles == query)
        if len(hits) == 0:  # "star wars" for "Star Wars (1977)"
            hits = np.flatnonzero(titles.str.replace(r"\s*\([^)]*\)\s*$", "", regex=True) == query)
        if len(hits) == 0:
            hits = np.flatnonzero(titles.str.contains(query, regex=False))
        if len(hits) == 0:
            import difflib

            close = difflib.get_close_matches(item, self.items["title"].tolist(), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"no item titled {item!r}{hint}")
        best = hits[np.argmax(self.popularity[hits])]
        return int(self.items["movielens_id"].iloc[best])

    def _check_k(self, k) -> int:
        """``k`` bounded by the catalogue: a longer list than there are items cannot be filled."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        return min(int(k), self.n_items)

    def _title(self, index: int) -> str:
        return str(self.items["title"].iloc[index])

    # scoring -------------------------------------------------------------------------------

    @torch.no_grad()
    def _logits(self, history: torch.Tensor, feats: torch.Tensor) -> np.ndarray:
        device = self.parts.user_feats.device
        return self.parts.ranker(history.to(device), feats.to(device)).logits.cpu().numpy()

    def score_all(self) -> np.ndarray:
        """(users x items) ranking scores (logits) of every known user from their training history."""
        if self._dense_history is None:  # built once: densifying costs as much as the model
            self._dense_history = torch.as_tensor(self.history.toarray())
        return self._logits(self._dense_history, self.parts.user_feats)

    def recommend_all(self, k: int = 10) -> np.ndarray:
        """(users x k) item row indices (0-based, not ids), best first, rated items left out: the
        one vectorised call that evaluation and batch jobs use. k is capped at the number of items;
        rows with fewer unrated items are padded with -1."""
        return top_k(self.score_all(), self._check_k(k), exclude=self.history)

    def _answer(self, logits: np.ndarray, seen: np.ndarray, liked: dict[int, float], k: int, user_row: int | None,
                user_id: int | None) -> Recommendations:
        logits = logits.astype(np.float64)
        logits[seen] = -np.inf
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        # seen items have probability 0, not -inf: leave them out explicitly, or a long list would hold them
        best = [i for i in top_k(probs[None], k, exclude=seen[None])[0] if i >= 0]
        stars = None
        if user_row is not None and self.parts.rater is not None:
            with torch.no_grad():
                users = torch.full((len(best),), user_row, dtype=torch.long)
                stars = self.parts.rater(users, torch.as_tensor(best, dtype=torch.long)).logits.numpy()
        recs = [Recommendation(item_id=int(self.items["movielens_id"].iloc[i]), title=self._title(i),
                               score=float(probs[i]), reason=self._reason(i, liked),
                               predicted_rating=None if stars is None else round(float(stars[n]), 2))
                for n, i in enumerate(best)]
        return Recommendations(user_id=user_id, items=recs)

    def _reason(self, item: int, liked: dict[int, float]) -> str:
        if liked:
            rows = np.fromiter(liked, dtype=np.int64)
            sims = self.similarity[item, rows]
            top = int(np.argmax(sims))
            if sims[top] >= REASON_SIMILARITY:
                j = int(rows[top])
                return f"because you rated {self._title(j)} {liked[j]:g}/{self.rating_range[1]:g}"
        return "popular with users whose tastes match yours"

    # public API ----------------------------------------------------------------------------

    def recommend(self, user_id: int, k: int = 10) -> Recommendations:
        """The ``k`` best unrated items for a known user, with scores, predicted stars and reasons.

        An unknown user id gets the most popular items, marked ``cold_start=True``.
        """
        k = self._check_k(k)
        if isinstance(user_id, bool) or not isinstance(user_id, (int, np.integer)):
            raise ValueError(f"user_id must be an integer id, got {user_id!r}")
        row = self._user_index.get(int(user_id))
        if row is None:
            return self.popular(k, user_id=int(user_id))
        history = self.history[row]
        stars = self.stars[row]
        liked = {int(i): float(r) for i, r in zip(stars.indices, stars.data) if r >= self.liked}
        logits = self._logits(torch.as_tensor(history.toarray()), self.parts.user_feats[row:row + 1])[0]
        seen = np.zeros(self.n_items, dtype=bool)
        seen[history.indices] = True
        return self._answer(logits, seen, liked, k, row, int(user_id))

    def popular(self, k: int = 10, user_id: int | None = None) -> Recommendations:
        """The ``k`` most-rated items: the cold-start answer for someone the model does not know."""
        k = self._check_k(k)
        best = [i for i in top_k(self.popularity[None], k)[0] if i >= 0]
        recs = [Recommendation(item_id=int(self.items["movielens_id"].iloc[i]), title=self._title(i),
                               score=float(self.popularity[i] / self.n_users),
                               reason=f"popular: rated by {self.popularity[i] / self.n_users:.0%} of users")
                for i in best]
        note = (f"user {user_id} is unknown, so these are the most popular items, not personal picks; "
                "rate a few with recommend_for_ratings() for personal ones" if user_id is not None else
                "the most popular items")
        return Recommendations(user_id=user_id, items=recs, cold_start=True, note=note)

    def recommend_for_ratings(self, ratings: dict, k: int = 10) -> Recommendations:
        """Recommendations for a new user from a few ratings ``{item id or title: stars}`` on the data's
        scale (``rating_range``: 1-5 for MovieLens 100k): folded into the model's user vector, no retraining."""
        k = self._check_k(k)
        low, high = self.rating_range
        if not isinstance(ratings, dict) or not ratings:
            raise ValueError(f"ratings must be a non-empty dict {{item id or title: rating from {low:g} to {high:g}}}")
        if len(ratings) > self.n_items:
            raise ValueError(f"got {len(ratings):,} ratings for a catalogue of {self.n_items:,} items; rate each "
                             "item at most once")
        rows: dict[int, float] = {}
        named: dict[int, object] = {}
        for item, stars in ratings.items():
            if isinstance(stars, bool) or not isinstance(stars, (int, float, np.integer, np.floating)) \
                    or not low <= float(stars) <= high:
                raise ValueError(f"the rating of {item!r} must be a number from {low:g} to {high:g}, got {stars!r}")
            row = self._item_index[self.find_item(item)]
            if row in named:  # a dict cannot say which of two ratings of one item is meant
                raise ValueError(f"{named[row]!r} and {item!r} both name item {self.items['movielens_id'].iloc[row]} "
                                 f"({self._title(row)}); rate each item once")
            rows[row], named[row] = float(stars), item
        history = np.zeros((1, self.n_items), dtype=np.float32)
        history[0, list(rows)] = 1.0
        # an unknown person: the average user's features
        feats = self.parts.user_feats.mean(dim=0, keepdim=True)
        logits = self._logits(torch.as_tensor(history), feats)[0]
        liked = {i: r for i, r in rows.items() if r >= self.liked}
        answer = self._answer(logits, history[0] > 0, liked, k, None, None)
        answer.note = f"folded in from {len(rows)} rating(s), no retraining"
        return answer

    def similar_items(self, item, k: int = 10) -> Recommendations:
        """The ``k`` items most often liked by the same users as ``item`` (an id or a title)."""
        k = self._check_k(k)
        row = self._item_index[self.find_item(item)]
        sims = self.similarity[row].copy()
        sims[row] = -np.inf
        best = [i for i in top_k(sims[None], k)[0] if i >= 0]
        recs = [Recommendation(item_id=int(self.items["movielens_id"].iloc[i]), title=self._title(i),
                               score=float(sims[i]), reason=f"rated by the same users as {self._title(row)}")
                for i in best]
        return Recommendations(user_id=None, items=recs, note=f"items similar to {self._title(row)}")

    def predict_rating(self, user_id: int, item) -> float:
        """The stars (on ``rating_range``) the rating model predicts ``user_id`` would give ``item``."""
        if self.parts.rater is None:
            raise ValueError("this recommender was saved without a rating model")
        if isinstance(user_id, bool) or not isinstance(user_id, (int, np.integer)) or user_id not in self._user_index:
            raise ValueError(f"user_id must be a known user id ({min(self._user_index)}-{max(self._user_index)}), "
                             f"got {user_id!r}")
        u = torch.tensor([self._user_index[int(user_id)]])
        i = torch.tensor([self._item_index[self.find_item(item)]])
        with torch.no_grad():
            return float(self.parts.rater(u, i).logits[0])

    def evaluate(self, test: pd.DataFrame, k: int = 10) -> dict[str, float]:
        """The benchmark metrics on held-out ratings (row indices as in ``RatingData.ratings``):
        precision/recall/nDCG/MAP@k and coverage of the ranking, RMSE and MAE of the stars.

        k: from 1 to the number of items (metrics "@k" of a longer list than the catalogue mean nothing).
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.n_items:
            raise ValueError(f"k must be an integer from 1 to the {self.n_items} items, got {k!r}")
        relevant = interaction_matrix(test, self.n_users, self.n_items)
        scores = ranking_metrics(self.recommend_all(k), relevant, k=k, n_items=self.n_items)
        if self.parts.rater is not None:
            with torch.no_grad():
                pred = self.parts.rater.score_all().numpy()[test["user"].to_numpy(), test["item"].to_numpy()]
            scores.update(rmse=rmse(test["rating"].to_numpy(), pred), mae=mae(test["rating"].to_numpy(), pred))
        return scores

    # persistence ---------------------------------------------------------------------------

    def save(self, directory, metrics: dict | None = None, **config) -> Path:
        """Save through the artifact contract: weights, config (the models' config dataclasses), the item
        and user tables and the training ratings (for seen-item filtering and reasons)."""
        from .artifacts import save_artifact

        kept = {k: v for k, v in self.config.items() if k not in _WRITTEN_ON_SAVE}
        rater = self.parts.rater
        model_config = {"n_users": self.n_users, "ranker": as_dict(self.parts.ranker.config),
                        "rater": None if rater is None else as_dict(rater.config)}
        return save_artifact(directory, component=COMPONENT, config={**kept, **config, **model_config},
                             metrics=metrics, model=self.parts,
                             files={"items.csv": self.items.to_csv(index=False),
                                    "users.csv": self.users[[c for c in ("movielens_id", "original_id")
                                                             if c in self.users]].to_csv(index=False),
                                    "train_ratings.csv": self.train.to_csv(index=False)})

    @classmethod
    def load(cls, directory) -> Recommender:
        """A saved recommender; ``ArtifactError`` naming the file and field if the folder is missing, damaged,
        not Day 1's, or its config, weights and tables do not fit together."""
        from .artifacts import load_component

        return load_component(directory, COMPONENT, cls._from_artifact)

    @classmethod
    def _from_artifact(cls, art) -> Recommender:
        n_users, ranker, rater = _model_configs(art)
        # built on the meta device first: sizes from config.json are checked against the weights' header
        parts = art.load_module(lambda: _Parts.from_config(n_users, ranker, rater))
        items, users, train = _read_tables(art, n_users, ranker.n_items)
        return cls(parts.ranker, items, users, train, parts.user_feats.numpy(), parts.rater, art.config)

    # lookups for apps ----------------------------------------------------------------------

    def title_of(self, item) -> str:
        """The title of ``item`` (an id or a title, as ``find_item`` reads it)."""
        return self._title(self._item_index[self.find_item(item)])

    def user_id_range(self) -> tuple[int, int]:
        """(smallest, largest) id of the users the model knows."""
        return min(self._user_index), max(self._user_index)


# keys of config.json that save_artifact or Recommender.save writes itself
_WRITTEN_ON_SAVE = {"schema_version", "component", "weights", "files", "created", "versions", "n_users", "ranker",
                    "rater"}


def _model_configs(art) -> tuple[int, RankerConfig, RaterConfig | None]:
    """``(n_users, ranker config, rater config or None)`` from config.json, checked to fit together."""
    n_users = art.field("n_users", int)
    if n_users < 1:
        raise ArtifactError(f"{art.path / 'config.json'}: the field 'n_users' must be > 0, got {n_users}")
    ranker = art.section("ranker", RankerConfig)
    rater = None if art.field("rater", (dict, type(None))) is None else art.section("rater", RaterConfig)
    if rater is not None:
        for field, theirs, other, ours in (("rater.n_users", rater.n_users, "n_users", n_users),
                                           ("rater.n_items", rater.n_items, "ranker.n_items", ranker.n_items)):
            if theirs != ours:
                raise ArtifactError(f"{art.path / 'config.json'}: the field {field!r} is {theirs} but {other!r} is "
                                    f"{ours}; the two models must cover the same users and items")
    return n_users, ranker, rater


def _read_tables(art, n_users: int, n_items: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The saved item, user and training-rating tables, checked against the model's sizes."""
    # keep_default_na=False: a title such as "Null" or "NA" stays a title; only a missing year is missing
    items = art.read_csv("items.csv", columns=["movielens_id", "title"], dtype={"title": str},
                         keep_default_na=False, na_values={"year": [""]})
    users = art.read_csv("users.csv", columns=["movielens_id"])
    train = art.read_csv("train_ratings.csv", columns=["user", "item", "rating"])
    for name, frame, rows, field, what in (("items.csv", items, n_items, "ranker.n_items", "item"),
                                           ("users.csv", users, n_users, "n_users", "user")):
        if len(frame) != rows:
            raise ArtifactError(f"{art.path / name} has {len(frame)} rows but the model has {rows} "
                                f"(config.json field '{field}'); it needs one row per {what}")
        _check_ids(art.path / name, frame["movielens_id"])
    _check_ratings(art.path / "train_ratings.csv", train, n_users, n_items)
    return items, users, train


def _check_ids(path: Path, ids: pd.Series) -> None:
    """ArtifactError unless ``ids`` are distinct whole numbers (they are the ids callers pass in)."""
    if not pd.api.types.is_integer_dtype(ids):
        raise ArtifactError(f"{path}: the column 'movielens_id' must hold whole numbers, got {ids.dtype} values")
    if ids.duplicated().any():
        raise ArtifactError(f"{path}: the column 'movielens_id' repeats the id {ids[ids.duplicated()].iloc[0]}; "
                            "ids must be distinct")


def _check_ratings(path: Path, train: pd.DataFrame, n_users: int, n_items: int) -> None:
    """ArtifactError unless every training rating names a known user and item row and has finite stars."""
    for column, size in (("user", n_users), ("item", n_items)):
        values = train[column]
        if not pd.api.types.is_integer_dtype(values):
            raise ArtifactError(f"{path}: the column {column!r} must hold whole numbers (row indices), got "
                                f"{values.dtype} values")
        outside = values[(values < 0) | (values >= size)]
        if len(outside):
            raise ArtifactError(f"{path}: the column {column!r} holds {outside.iloc[0]}, outside the {size} "
                                f"{column}s of the model (0 to {size - 1})")
    stars = train["rating"]
    if not pd.api.types.is_numeric_dtype(stars) or not np.isfinite(stars.to_numpy(np.float64)).all():
        raise ArtifactError(f"{path}: the column 'rating' must hold finite numbers")
