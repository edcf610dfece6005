import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from applied_mlx import recsys
from applied_mlx.metrics import ranking_metrics


def test_stratified_split_per_user():
    rng = np.random.default_rng(0)
    ratings = pd.DataFrame({"user": np.repeat(np.arange(6), [1, 2, 4, 8, 10, 20]),
                            "item": np.concatenate([rng.permutation(30)[:n] for n in [1, 2, 4, 8, 10, 20]]),
                            "rating": 3})
    train, test = recsys.stratified_split(ratings, ratio=0.75, seed=1)
    n_train = train.groupby("user").size().reindex(range(6), fill_value=0).tolist()
    n_test = test.groupby("user").size().reindex(range(6), fill_value=0).tolist()
    # round(.75 n), but at least one rating on each side where a user has two or more
    assert n_train == [1, 1, 3, 6, 8, 15] and n_test == [0, 1, 1, 2, 2, 5]
    pairs = lambda f: set(zip(f.user, f.item))
    assert not pairs(train) & pairs(test) and pairs(train) | pairs(test) == pairs(ratings)
    again = recsys.stratified_split(ratings, ratio=0.75, seed=1)
    assert again[0].equals(train) and not recsys.stratified_split(ratings, 0.75, seed=2)[0].equals(train)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        recsys.stratified_split(ratings, ratio=1.0)


def test_top_k_removes_seen_items_and_pads():
    scores = np.array([[0.1, 0.9, 0.5, 0.7],
                       [0.3, 0.2, 0.1, 0.0],
                       [1.0, 1.0, 1.0, 1.0]])
    seen = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0]]))
    assert recsys.top_k(scores, 2, exclude=seen).tolist() == [[3, 2], [3, -1], [0, 1]]
    assert recsys.top_k(torch.tensor(scores), 6).tolist()[0] == [1, 3, 2, 0, -1, -1]
    with pytest.raises(ValueError, match="k must be >= 1"):
        recsys.top_k(scores, 0)
    with pytest.raises(ValueError, match="2-D"):
        recsys.top_k(scores[0], 1)


def test_popularity_and_item_cosine_by_hand():
    train = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1], [1, 1, 0]], dtype=float))
    assert recsys.popularity_scores(train).tolist() == [3, 2, 1]
    sim = recsys.item_cosine_similarity(train)
    # item columns a=(1,1,1), b=(1,0,1), c=(0,1,0): cos(a,b)=2/(sqrt3 sqrt2), cos(a,c)=1/sqrt3, cos(b,c)=0
    expected = np.array([[0, 2 / np.sqrt(6), 1 / np.sqrt(3)], [2 / np.sqrt(6), 0, 0], [1 / np.sqrt(3), 0, 0]])
    assert sim == pytest.approx(expected)
    # user 1 rated a and c: score(b) = sim(b,a) + sim(b,c)
    assert recsys.item_knn_scores(train, sim)[1, 1] == pytest.approx(2 / np.sqrt(6))


def test_load_movielens_parses_the_grouplens_files(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t5\t881250949\n2\t1\t3\t891717742\n")
    (tmp_path / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    genre_flags = "|".join(["0"] * 5 + ["1"] + ["0"] * 13)
    (tmp_path / "u.item").write_bytes(
        f"1|Toy Story (1995)|01-Jan-1995||http://x|{genre_flags}\n"
        f"2|Cit\xe9 des enfants perdus, La (1995)|01-Jan-1995||http://y|{genre_flags}\n".encode("latin-1"))
    data = recsys.load_movielens_100k(tmp_path)
    assert data.ratings[["user", "item", "rating"]].values.tolist() == [[0, 1, 5], [1, 0, 3]]
    assert data.items.loc[1, "title"] == "Cité des enfants perdus, La (1995)"
    assert data.items.loc[0, "year"] == 1995 and data.items.loc[0, "Comedy"] == 1
    assert data.users.loc[1, "occupation"] == "other"
    assert "2 ratings, 2 users, 2 items" in repr(data)


def test_synthetic_ratings_have_structure_that_cf_finds():
    data = recsys.synthetic_ratings(seed=0)
    r = data.ratings
    assert r["rating"].between(1, 5).all() and r.groupby("user").size().min() >= 5
    assert not r.duplicated(["user", "item"]).any()
    assert (data.items[list(recsys.GENRES[1:5])].sum(axis=1) == 1).all()  # one taste group per item
    train, test = recsys.stratified_split(r)
    x = recsys.interaction_matrix(train, data.n_users, data.n_items)
    truth = recsys.interaction_matrix(test, data.n_users, data.n_items)
    knn = ranking_metrics(recsys.top_k(recsys.item_knn_scores(x, recsys.item_cosine_similarity(x)), 10, x),
                          truth, k=10)
    rng = np.random.default_rng(0)
    chance = ranking_metrics(recsys.top_k(rng.random(x.shape), 10, x), truth, k=10)
    assert knn["ndcg@10"] > 1.5 * chance["ndcg@10"]


def test_features_are_one_hot_rows():
    data = recsys.synthetic_ratings(seed=1)
    uf, itf = recsys.user_features(data.users), recsys.item_features(data.items)
    assert uf.shape[0] == data.n_users and itf.shape[0] == data.n_items
    assert set(np.unique(uf)) <= {0.0, 1.0} and (uf.sum(axis=1) == 3).all()  # age, gender, occupation
    assert (itf[:, len(recsys.GENRES):].sum(axis=1) == 1).all()  # exactly one decade


def test_ndcg_from_scores_leaves_out_seen_items():
    y = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]])  # user 0: item 0 relevant, item 1 seen; user 1 skipped
    scores = np.array([[0.5, 0.9, 0.1], [1.0, 0.0, 0.0]])
    assert recsys.ndcg_from_scores(y, scores, k=1) == 1.0  # the seen item 1 may not take rank 1


def synthetic_batches(data):
    train, test = recsys.stratified_split(data.ratings)
    batch = {"user": torch.tensor(train.user.values), "item": torch.tensor(train.item.values),
             "labels": torch.tensor(train.rating.values, dtype=torch.float32)}
    return train, test, batch


def test_rating_model_learns_and_stays_in_range():
    from applied_mlx.training import fit

    data = recsys.synthetic_ratings(seed=2)
    train, test, batch = synthetic_batches(data)
    torch.manual_seed(0)
    model = recsys.RatingModel(data.n_users, data.n_items, recsys.user_features(data.users),
                                      recsys.item_features(data.items), dim=8, l2=0.01)
    result = fit(model, [batch], [batch], lr=0.05, num_epochs=30, progress=False, seed=0)
    assert result.history["train_loss"].iloc[-1] < 0.5 * result.history["train_loss"].iloc[0]
    pred = model(batch["user"], batch["item"]).logits
    assert pred.min() >= 0.5 and pred.max() <= 5.5
    mean_baseline = ((batch["labels"] - batch["labels"].mean()) ** 2).mean()
    assert ((pred - batch["labels"]) ** 2).mean() < mean_baseline


def test_history_encoder_ranks_held_out_items_above_chance():
    from applied_mlx.metrics import ranking_metrics
    from applied_mlx.training import fit

    data = recsys.synthetic_ratings(seed=3)
    train, test = recsys.stratified_split(data.ratings)
    x = torch.tensor(recsys.interaction_matrix(train, data.n_users, data.n_items).toarray())
    uf = torch.tensor(recsys.user_features(data.users))
    torch.manual_seed(0)
    model = recsys.HistoryEncoder(data.n_items, uf.shape[1], recsys.item_features(data.items), dim=16)
    batch = {"history": x, "user_features": uf, "labels": x}
    result = fit(model, [batch], lr=1e-2, num_epochs=40, progress=False, seed=0)
    assert result.history["train_loss"].iloc[-1] < result.history["train_loss"].iloc[0]
    model.eval()
    with torch.no_grad():
        scores = model(x, uf).logits
    truth = recsys.interaction_matrix(test, data.n_users, data.n_items)
    learned = ranking_metrics(recsys.top_k(scores, 10, x.numpy() > 0), truth, k=10)["ndcg@10"]
    chance = ranking_metrics(recsys.top_k(np.random.default_rng(0).random(x.shape), 10, x.numpy() > 0),
                             truth, k=10)["ndcg@10"]
    assert learned > 1.5 * chance
