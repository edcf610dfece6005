import copy
import json
import resource
import shutil
import sys
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from artifact_edits import DROP, edit_config

from applied_mlx import recsys
from applied_mlx.artifacts import ArtifactError, Component, as_dict
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


def test_score_all_matches_pairwise_forward():
    data = recsys.synthetic_ratings(seed=4)
    torch.manual_seed(0)
    model = recsys.RatingModel(data.n_users, data.n_items, recsys.user_features(data.users),
                               recsys.item_features(data.items), dim=4)
    users, items = torch.tensor([0, 3, 7]), torch.tensor([5, 0, 9])
    assert torch.allclose(model.score_all()[users, items], model(users, items).logits, atol=1e-6)


def test_history_encoder_loss_ignores_left_out_items():
    torch.manual_seed(0)
    model = recsys.HistoryEncoder(5, 2, np.zeros((5, 1), np.float32), dim=3, dropout=0.0).eval()
    history, feats = torch.tensor([[1.0, 0, 0, 0, 0]]), torch.zeros(1, 2)
    labels = torch.tensor([[0.0, 1, 0, 0, 0]])
    masked = torch.tensor([[-1.0, 1, 0, 0, 0]])  # the seen item 0 carries no weight
    assert torch.isclose(model(history, feats, labels).loss, model(history, feats, masked).loss)
    logp = torch.log_softmax(model(history, feats).logits, -1)
    assert torch.isclose(model(history, feats, labels).loss, -logp[0, 1])


def test_item_item_path_has_a_zero_diagonal_and_adds_to_the_logits():
    torch.manual_seed(0)
    plain = recsys.HistoryEncoder(4, 0, np.zeros((4, 0), np.float32), dim=3, dropout=0.0).eval()
    model = recsys.HistoryEncoder(4, 0, np.zeros((4, 0), np.float32), dim=3, dropout=0.0, item_item=True,
                                  item_item_dropout=0.0).eval()
    model.load_state_dict({**plain.state_dict(), "item_item": torch.arange(16.0).reshape(4, 4)})
    history, feats = torch.tensor([[1.0, 0, 1, 0]]), torch.zeros(1, 0)
    weights = model.item_item_weights()
    assert torch.equal(torch.diagonal(weights), torch.zeros(4))  # an item never predicts itself
    expected = plain(history, feats).logits + history @ weights
    assert torch.allclose(model(history, feats).logits, expected)
    assert model.item_item.grad is None and plain.item_item is None


def test_item_item_l2_adds_the_squared_weights_to_the_loss():
    model = recsys.HistoryEncoder(3, 0, np.zeros((3, 0), np.float32), dim=2, dropout=0.0, item_item=True,
                                  item_item_l2=0.5, item_item_dropout=0.0).eval()
    with torch.no_grad():
        model.item_item.fill_(1.0)  # six off-diagonal ones: penalty 0.5 * 6
    history, feats, labels = torch.tensor([[1.0, 1, 0]]), torch.zeros(1, 0), torch.tensor([[0.0, 0, 1]])
    logp = torch.log_softmax(model(history, feats).logits, -1)
    assert torch.isclose(model(history, feats, labels).loss, -logp[0, 2] + 3.0)


def test_a_ranker_config_saved_without_the_item_item_path_builds_the_model_it_was():
    old = {"n_items": 5, "user_feats_dim": 2, "item_feats_dim": 3, "dim": 4, "dropout": 0.5, "feature_scale": 0.1}
    model = recsys.HistoryEncoder.from_config(recsys.RankerConfig(**old))
    assert model.item_item is None and "item_item" not in model.state_dict()


def test_ranking_model_can_start_its_item_item_weights_at_ease():
    data = recsys.synthetic_ratings(seed=6)
    train, _ = recsys.stratified_split(data.ratings)
    run = recsys.train_ranking_model(data, train, dim=8, item_item=True, ease_lambda=50.0, ease_scale=2.0,
                                     item_item_lr=0.0, max_epochs=2, patience=1, progress=False)
    x = recsys.interaction_matrix(train, data.n_users, data.n_items)  # the refit starts from all of train
    assert np.allclose(run.model.item_item.detach().numpy(), 2.0 * recsys.ease_weights(x, 50.0), atol=1e-5)


@pytest.fixture(scope="module")
def trained():
    data = recsys.synthetic_ratings(seed=5)
    train, test = recsys.stratified_split(data.ratings)
    ranking = recsys.train_ranking_model(data, train, dim=16, max_epochs=6, patience=3, progress=False)
    rating = recsys.train_rating_model(data, train, dim=8, max_epochs=4, patience=2, lr=1e-2, progress=False)
    rec = recsys.Recommender.from_training(data, train, ranking.model, rating.model)
    return data, train, test, ranking, rating, rec


def test_two_stage_training_refits_for_the_chosen_epochs(trained):
    _, _, _, ranking, rating, _ = trained
    for run in (ranking, rating):
        assert run.epochs == run.selection.best_epoch
        assert "val_ndcg@10" in ranking.selection.history and "val_rmse" in rating.selection.history
        assert not run.final.history["train_loss"].isna().any()


def test_recommend_leaves_out_rated_items_and_explains(trained):
    data, train, _, _, _, rec = trained
    answer = rec.recommend(1, k=5)
    assert len(answer) == 5 and not answer.cold_start and answer.user_id == 1
    seen = set(train[train.user == 0].item + 1)  # MovieLens-style ids are row + 1
    ids = [r.item_id for r in answer]
    assert not seen & set(ids) and len(set(ids)) == 5
    scores = [r.score for r in answer]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1
    assert all(r.reason and 0.5 <= r.predicted_rating <= 5.5 for r in answer)
    assert list(answer.to_frame().columns) == ["item_id", "title", "score", "predicted_rating", "reason"]
    # the vectorised call agrees with the per-user one
    assert list(rec.recommend_all(5)[0] + 1) == ids


def test_reason_names_a_liked_item_that_is_similar(trained):
    _, _, _, _, _, rec = trained
    for answer in (rec.recommend(u, k=10) for u in range(1, 20)):
        for r in answer:
            if r.reason.startswith("because you rated"):
                title = r.reason.removeprefix("because you rated ").rsplit(" ", 1)[0]
                liked = rec._item_index[rec.find_item(title)]
                assert rec.similarity[rec._item_index[r.item_id], liked] >= recsys.REASON_SIMILARITY
                return
    pytest.fail("no recommendation was explained by a liked item")


def test_unknown_user_gets_a_marked_cold_start_answer(trained):
    *_, rec = trained
    answer = rec.recommend(10_000, k=3)
    assert answer.cold_start and "unknown" in answer.note and len(answer) == 3
    assert [r.item_id for r in answer] == [int(i) + 1 for i in np.argsort(-rec.popularity, kind="stable")[:3]]


def test_fold_in_follows_the_new_users_taste(trained):
    data, *_, rec = trained
    genre = recsys.GENRES[1]
    in_genre = data.items.index[data.items[genre] == 1]
    liked = {int(i) + 1: 5 for i in in_genre[:6]}
    answer = rec.recommend_for_ratings(liked, k=5)
    assert not set(liked) & {r.item_id for r in answer}
    share = np.mean([data.items[genre].iloc[r.item_id - 1] for r in answer])
    assert share > data.items[genre].mean()  # more of the liked genre than the catalogue has
    by_title = rec.recommend_for_ratings({data.items.title.iloc[i]: 5 for i in in_genre[:6]}, k=5)
    assert [r.item_id for r in by_title] == [r.item_id for r in answer]


def test_similar_items_and_titles(trained):
    data, *_, rec = trained
    answer = rec.similar_items(1, k=4)
    assert 1 not in {r.item_id for r in answer} and len(answer) == 4
    sims = [r.score for r in answer]
    assert sims == sorted(sims, reverse=True)
    title = data.items.title.iloc[0]
    assert rec.find_item(title.upper()) == 1
    assert rec.find_item(title.rsplit(" (", 1)[0]) == 1  # the year (here the genre) may be left out


@pytest.mark.parametrize("call, message", [
    (lambda r: r.recommend(1, k=0), "k must be a positive integer"),
    (lambda r: r.recommend(1, k=2.5), "k must be a positive integer"),
    (lambda r: r.recommend("1"), "user_id must be an integer"),
    (lambda r: r.similar_items(0), "no item with id 0"),
    (lambda r: r.similar_items("no such film"), "no item titled"),
    (lambda r: r.similar_items(None), "integer id or a non-empty title"),
    (lambda r: r.recommend_for_ratings({1: 6}), "from 1 to 5"),
    (lambda r: r.recommend_for_ratings({1: 0.5}), "from 1 to 5, got 0.5"),
    (lambda r: r.recommend_for_ratings({1: "5"}), "from 1 to 5"),
    (lambda r: r.recommend_for_ratings({}), "non-empty dict"),
    (lambda r: r.recommend_for_ratings({99_999: 4}), "no item with id"),
    (lambda r: r.predict_rating(99_999, 1), "known user id"),
    (lambda r: r.find_item("x" * 100_000), "at most 500 characters"),
    (lambda r: r.recommend_for_ratings({i: 5 for i in range(1, r.n_items + 2)}), "ratings for a catalogue of 80"),
    (lambda r: r.evaluate(pd.DataFrame({"user": [0], "item": [0], "rating": [4]}), k=81), "from 1 to the 80 items"),
])
def test_bad_arguments_raise_value_errors_that_say_what_is_allowed(trained, call, message):
    *_, rec = trained
    with pytest.raises(ValueError, match=message):
        call(rec)


def test_save_and_load_give_the_same_recommendations(trained, tmp_path):
    _, _, test, *_, rec = trained
    rec.save(tmp_path / "day1", metrics={"ndcg@10": 0.5})
    loaded = recsys.Recommender.load(tmp_path / "day1")
    assert np.array_equal(loaded.recommend_all(10), rec.recommend_all(10))
    assert loaded.recommend(3, k=5).to_frame().equals(rec.recommend(3, k=5).to_frame())
    ratings = {2: 5, 4: 1}
    assert loaded.recommend_for_ratings(ratings).to_frame().equals(rec.recommend_for_ratings(ratings).to_frame())
    assert loaded.evaluate(test) == pytest.approx(rec.evaluate(test))


def test_settings_hold_each_profiles_sizes():
    assert recsys.settings("smoke") == {"data": "synthetic", "rank_epochs": 8, "rate_epochs": 4, "loop_epochs": 2,
                                        "tab_epochs": 3}
    assert recsys.settings("quick")["data"] == recsys.settings("full")["data"] == "movielens-100k"
    recsys.settings("smoke")["rank_epochs"] = 0  # a copy: the caller may change it
    assert recsys.settings("smoke")["rank_epochs"] == 8
    with pytest.raises(ValueError, match="unknown profile 'huge'; use one of smoke, quick, full"):
        recsys.settings("huge")


def test_models_keep_the_config_they_were_built_with():
    item_feats = np.zeros((5, 3), np.float32)
    ranker = recsys.HistoryEncoder(5, 2, item_feats, dim=4, dropout=0.5, feature_scale=0.2)
    assert ranker.config == recsys.RankerConfig(n_items=5, user_feats_dim=2, item_feats_dim=3, dim=4, dropout=0.5,
                                                feature_scale=0.2)
    rater = recsys.RatingModel(4, 5, np.zeros((4, 2), np.float32), item_feats, dim=3, l2=0.5, rating_range=(0, 10))
    assert rater.config == recsys.RaterConfig(4, 5, 2, 3, dim=3, l2=0.5, rating_range=(0.0, 10.0))
    for model, cls in ((ranker, recsys.HistoryEncoder), (rater, recsys.RatingModel)):
        rebuilt = cls.from_config(model.config)
        assert rebuilt.config == model.config
        shapes = {k: v.shape for k, v in model.state_dict().items()}
        assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes


@pytest.mark.parametrize("build, message", [
    (lambda f: recsys.HistoryEncoder(5, 2, f, dropout=1.0), r"dropout must lie in \[0, 1\)"),
    (lambda f: recsys.HistoryEncoder(6, 2, f), r"item_feats must be a 2-D table of 6 rows, got shape \(5, 3\)"),
    (lambda f: recsys.HistoryEncoder(5, 2, f, dim=0), "dim must be > 0"),
    (lambda f: recsys.HistoryEncoder(5, 2, f, feature_scale=float("nan")), "feature_scale must be a finite number"),
    (lambda f: recsys.RatingModel(4, 5, f[:4], f, rating_range=(5, 1)), "rating_range must be two finite numbers"),
    (lambda f: recsys.RatingModel(4, 5, f, f), r"user_feats must be a 2-D table of 4 rows"),
])
def test_model_arguments_are_checked(build, message):
    with pytest.raises(ValueError, match=message):
        build(np.zeros((5, 3), np.float32))


def test_recommender_follows_the_component_contract(trained):
    *_, rec = trained
    assert isinstance(rec, Component) and recsys.Recommender.COMPONENT == recsys.COMPONENT == "day1-recommender"


def test_k_beyond_the_catalogue_gives_every_item(trained):
    data, train, *_, rec = trained
    n, huge = data.n_items, 10**12
    seen = train[train.user == 0].item.nunique()
    assert len(rec.recommend(1, k=huge)) == n - seen  # every unrated item, none twice
    assert len({r.item_id for r in rec.recommend(1, k=huge)}) == n - seen
    assert len(rec.popular(k=huge)) == n
    assert len(rec.similar_items(1, k=huge)) == n - 1
    assert len(rec.recommend_for_ratings({1: 5}, k=huge)) == n - 1
    assert rec.recommend_all(huge).shape == (data.n_users, n)
    assert [r.item_id for r in rec.recommend(1, k=n)] == [r.item_id for r in rec.recommend(1, k=huge)]


def test_fold_in_refuses_one_item_rated_twice(trained):
    data, *_, rec = trained
    title = data.items.title.iloc[49]  # item id 50
    with pytest.raises(ValueError, match=r"and 50 both name item 50 .*rate each item once"):
        rec.recommend_for_ratings({title: 5, 50: 1})
    with pytest.raises(ValueError, match="both name item 50"):
        rec.recommend_for_ratings({title: 5, title.upper(): 4})
    assert len(rec.recommend_for_ratings({title: 5, 51: 1}, k=3)) == 3


def test_saved_config_holds_the_models_configs(trained, tmp_path):
    data, _, _, ranking, rating, rec = trained
    config = json.loads((rec.save(tmp_path / "day1", profile="smoke") / "config.json").read_text())
    assert config["ranker"] == as_dict(ranking.model.config) and config["rater"] == as_dict(rating.model.config)
    assert config["n_users"] == data.n_users and config["data"] == "synthetic" and config["profile"] == "smoke"


def test_a_loaded_recommender_saves_again(trained, tmp_path):
    *_, rec = trained
    loaded = recsys.Recommender.load(rec.save(tmp_path / "first", profile="smoke"))
    again = recsys.Recommender.load(loaded.save(tmp_path / "second"))
    assert again.config["profile"] == "smoke" and np.array_equal(again.recommend_all(5), rec.recommend_all(5))


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory):
    *_, rec = trained
    return rec.save(tmp_path_factory.mktemp("saved") / "day1")


def damaged_copy(saved, tmp_path, config=None, files=None):
    """A copy of the saved recommender with config fields set (dotted names; None deletes) and files replaced."""
    folder = shutil.copytree(saved, tmp_path / "damaged")
    edit_config(folder, {dotted: DROP if value is None else value for dotted, value in (config or {}).items()})
    for name, edit in (files or {}).items():
        path = folder / name
        path.write_bytes(edit(path.read_bytes()) if callable(edit) else edit)
    return folder


def csv_edit(change):
    """A file edit that applies ``change`` to the table and writes it back."""
    def edit(raw):
        import io

        return change(pd.read_csv(io.BytesIO(raw))).to_csv(index=False).encode()
    return edit


@pytest.mark.parametrize("config, files, message", [
    ({"ranker": [1, 2]}, None, r"field 'ranker' must be dict"),
    ({"ranker.n_items": None}, None, r"config.json: field ranker lacks the field 'n_items'"),
    ({"ranker.dim": "16"}, None, r"config.json: field ranker\.dim must be a whole number, got '16'"),
    ({"ranker.dropout": 1.5}, None, r"config.json: field ranker: .*dropout must lie in \[0, 1\)"),
    ({"ranker.bogus": 1}, None, r"unknown field\(s\) 'bogus'"),
    ({"rater": 5}, None, "field 'rater' must be dict or NoneType"),
    ({"rater.rating_range": [5, 1]}, None, "rating_range must be two finite numbers"),
    ({"rater.n_users": 121}, None, "'rater.n_users' is 121 but 'n_users' is 120"),
    ({"n_users": None}, None, "lacks the field 'n_users'"),
    ({"n_users": 0}, None, "'n_users' must be > 0"),
    ({"ranker.n_items": 81, "rater.n_items": 81}, None, r"ranker\.item_bias: saved \(80,\), model \(81,\)"),
    (None, {"model.safetensors": lambda raw: raw[:-100]}, "model.safetensors is truncated"),
    (None, {"items.csv": csv_edit(lambda f: f.iloc[:-1])}, "items.csv has 79 rows but the model has 80"),
    (None, {"items.csv": csv_edit(lambda f: f.assign(movielens_id=1))}, "items.csv: .* repeats the id 1"),
    (None, {"items.csv": csv_edit(lambda f: f.assign(movielens_id="x"))}, "items.csv: .* must hold whole numbers"),
    (None, {"items.csv": csv_edit(lambda f: f.drop(columns="title"))}, r"items.csv lacks the column\(s\) title"),
    (None, {"users.csv": b""}, "users.csv: the table could not be read .EmptyDataError"),
    (None, {"users.csv": b"movielens_id\n"}, "users.csv has 0 rows but the model has 120"),
    (None, {"train_ratings.csv": csv_edit(lambda f: f.assign(item=f.item + 1))}, "column 'item' holds 80, outside"),
    (None, {"train_ratings.csv": csv_edit(lambda f: f.assign(user=-1))}, "column 'user' holds -1, outside"),
    (None, {"train_ratings.csv": csv_edit(lambda f: f.assign(rating=np.nan))}, "'rating' must hold finite numbers"),
    (None, {"train_ratings.csv": b'user,item\n"1,2\n'}, "train_ratings.csv"),
])
def test_every_load_fault_is_an_artifact_error_naming_file_and_field(saved, tmp_path, config, files, message):
    folder = damaged_copy(saved, tmp_path, config, files)
    with pytest.raises(ArtifactError, match=message):
        recsys.Recommender.load(folder)


@pytest.mark.parametrize("field", ["ranker.dim", "ranker.item_feats_dim", "rater.dim"])
def test_a_huge_size_in_the_config_fails_before_anything_is_allocated(saved, tmp_path, field):
    folder = damaged_copy(saved, tmp_path, {field: 20_000_000})  # GBs of float32 if it were built
    kilobytes = 1 if sys.platform != "darwin" else 1024  # ru_maxrss: kB on Linux, bytes on macOS
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kilobytes
    start = time.perf_counter()
    with pytest.raises(ArtifactError, match=r"shape mismatch: .*, model \(\d+, 20000000\)|20000000, \d+\)"):
        recsys.Recommender.load(folder)
    assert time.perf_counter() - start < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kilobytes - peak_before < 200_000


def test_load_refuses_another_component(tmp_path):
    from applied_mlx.artifacts import ArtifactError, save_artifact

    save_artifact(tmp_path / "other", component="something-else", config={}, model=torch.nn.Linear(1, 1))
    with pytest.raises(ArtifactError):
        recsys.Recommender.load(tmp_path / "other")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: models trained on a GPU")
def test_recommender_serves_models_trained_on_a_gpu(trained):
    data, train, test, ranking, rating, rec = trained
    ranker, rater = copy.deepcopy(ranking.model).cuda(), copy.deepcopy(rating.model).cuda()
    on_gpu = recsys.Recommender.from_training(data, train, ranker, rater)
    assert on_gpu.evaluate(test, k=5) == pytest.approx(rec.evaluate(test, k=5), abs=1e-4)
    assert [r.item_id for r in on_gpu.recommend(1, 5)] == [r.item_id for r in rec.recommend(1, 5)]
    assert next(ranker.parameters()).is_cuda, "the caller's model stays on the GPU"


# Any ratings table ------------------------------------------------------------------------------

def movielens_folder(path):
    """A small u.data / u.user / u.item folder in MovieLens 100k's formats; item 3 has no rating."""
    (path / "u.data").write_text("1\t2\t5\t881250949\n2\t1\t3\t891717742\n3\t2\t1\t891717743\n1\t1\t4\t881250950\n")
    (path / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n3|17|M|student|00000\n")
    flags = lambda g: "|".join("1" if i == g else "0" for i in range(len(recsys.GENRES)))
    (path / "u.item").write_bytes(
        f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags(5)}\n"
        f"2|Cit\xe9 des enfants perdus, La (1995)|01-Jan-1995||http://y|{flags(8)}\n"
        f"3|unknown|||http://z|{flags(0)}\n".encode("latin-1"))
    return path


def test_load_movielens_through_from_table_gives_the_tables_it_always_gave(tmp_path):
    root = movielens_folder(tmp_path)
    # the loader as it was before every table went through ratings_from_table
    ratings = pd.read_csv(root / "u.data", sep="\t", names=["user", "item", "rating", "timestamp"])
    users = pd.read_csv(root / "u.user", sep="|", names=["movielens_id", "age", "gender", "occupation", "zip"])
    items = pd.read_csv(root / "u.item", sep="|", encoding="latin-1", header=None,
                        names=["movielens_id", "title", "release_date", "video_release_date", "imdb_url",
                               *recsys.GENRES])
    ratings["user"] -= 1
    ratings["item"] -= 1
    items["year"] = pd.to_datetime(items["release_date"], format="%d-%b-%Y", errors="coerce").dt.year
    items = items[["movielens_id", "title", "year", *recsys.GENRES]]
    data = recsys.load_movielens_100k(root)
    pd.testing.assert_frame_equal(data.ratings, ratings)
    pd.testing.assert_frame_equal(data.users, users)
    pd.testing.assert_frame_equal(data.items, items)
    assert data.name == "MovieLens 100k" and data.n_items == 3  # the unrated item stays in the catalogue
    assert recsys.item_features(data.items).shape == (3, len(recsys.GENRES) + 1)  # genres and one decade


def test_from_table_maps_any_ids_to_rows_and_keeps_the_originals(tmp_path):
    ratings = pd.DataFrame({"uid": [900, 900, 15, 42], "mid": [7, 300, 7, 55], "stars": [4.5, 0.5, 3, 2]})
    items = pd.DataFrame({"mid": [7, 55, 300, 1000], "name": ["Heat (1995)", "", "Up (2009)", "Solaris (1972)"],
                          "tags": [["Crime", "Drama"], "Animation|Drama", np.nan, "Sci-Fi"]})
    data = recsys.RatingData.from_table(ratings, items=items, user_col="uid", item_col="mid", rating_col="stars",
                                        title_col="name", genres_col="tags", name="mine")
    assert data.users["movielens_id"].tolist() == [15, 42, 900]
    assert data.items["movielens_id"].tolist() == [7, 55, 300, 1000]  # the unrated item 1000 is in the catalogue
    assert data.ratings[["user", "item"]].values.tolist() == [[2, 0], [2, 2], [0, 0], [1, 1]]
    assert data.ratings["rating"].tolist() == [4.5, 0.5, 3, 2] and "timestamp" not in data.ratings
    assert data.items["title"].tolist() == ["Heat (1995)", "55", "Up (2009)", "Solaris (1972)"]  # no title: the id
    assert data.items["year"].tolist()[2:] == [2009, 1972]
    genres = ["Animation", "Crime", "Drama", "Sci-Fi"]
    assert recsys.genre_columns(data.items) == genres
    assert data.items[genres].values.tolist() == [[0, 1, 1, 0], [1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    # string ids, from a CSV path: numbered 1..n, the original kept as original_id
    path = tmp_path / "r.csv"
    pd.DataFrame({"user": ["bob", "amy", "bob"], "item": ["x9", "x9", "a1"], "rating": [1, 2, 3],
                  "timestamp": [5, 6, 7]}).to_csv(path, index=False)
    data = recsys.ratings_from_table(path)
    assert data.users.to_dict("list") == {"movielens_id": [1, 2], "original_id": ["amy", "bob"]}
    assert data.items[["movielens_id", "original_id", "title"]].values.tolist() == [[1, "a1", "a1"], [2, "x9", "x9"]]
    assert data.ratings.values.tolist() == [[1, 1, 1, 5], [0, 1, 2, 6], [1, 0, 3, 7]]


@pytest.mark.parametrize("ratings, columns, message", [
    (pd.DataFrame({"userId": [1], "movieId": [2], "rating": [3]}), {},
     r"no column 'user', 'item'; it needs user_col='user', item_col='item', rating_col='rating'.*has 'userId'"),
    (pd.DataFrame({"user": [], "item": [], "rating": []}), {}, "the ratings table is empty"),
    (pd.DataFrame({"user": [1, np.nan], "item": [1, 1], "rating": [4, 3]}), {}, "1 rating.* have no user id"),
    (pd.DataFrame({"user": [1, 2], "item": [1, 1], "rating": [4, np.nan]}), {}, "1 rating.* not finite.* user 2"),
    (pd.DataFrame({"user": [1, 2], "item": [1, 1], "rating": [4, "good"]}), {}, "not finite numbers.*'good'"),
    (pd.DataFrame({"user": [1, 2], "item": [1, 1], "rating": [4, np.inf]}), {}, "not finite"),
    (pd.DataFrame({"user": [1, 1, 2], "item": [5, 5, 5], "rating": [4, 2, 1]}), {},
     r"1 \(user, item\) pair\(s\) are rated more than once, e.g. user 1, item 5"),
    (pd.DataFrame({"user": [1, 2], "item": [1, 1], "rating": [4, 4]}), {}, "every rating is 4; a rating scale needs"),
    ([(1, 2, 3)], {}, "must be a pandas DataFrame or a CSV path, got list"),
    (pd.DataFrame({"user": [1, 2], "item": [1, 1], "rating": [4, 3]}), {"items": pd.DataFrame({"id": [1]})},
     "the item table has no column 'item'"),
])
def test_from_table_refuses_bad_tables_saying_what_is_wrong(ratings, columns, message):
    with pytest.raises(ValueError, match=message):
        recsys.ratings_from_table(ratings, **columns)


def test_features_fall_back_to_zero_width_without_movielens_columns():
    users = pd.DataFrame({"movielens_id": [1, 2, 3]})
    items = pd.DataFrame({"movielens_id": [1, 2], "title": ["a", "b"], "year": [np.nan, np.nan]})
    assert recsys.user_features(users).shape == (3, 0) and recsys.item_features(items).shape == (2, 0)
    # only some of the columns: the ones there are
    assert recsys.user_features(users.assign(gender=["F", "M", "F"])).tolist() == [[1, 0], [0, 1], [1, 0]]
    assert recsys.item_features(items.assign(year=[1990, 2005], Drama=[1, 0])).tolist() == [[1, 1, 0], [0, 0, 1]]


def test_models_train_with_zero_width_features():
    none = np.zeros((5, 0), np.float32)
    rater = recsys.RatingModel(4, 5, none[:4], none, dim=3, rating_range=(0.5, 5.0))
    ranker = recsys.HistoryEncoder(5, 0, none, dim=3)
    users, items = torch.tensor([0, 1, 3]), torch.tensor([4, 0, 2])
    history = torch.tensor([[1.0, 0, 1, 0, 0]] * 3)
    for out in (rater(users, items, torch.tensor([0.5, 5.0, 3.5])), ranker(history, torch.zeros(3, 0), history)):
        out.loss.backward()
        assert torch.isfinite(out.loss)
    assert rater.user_emb.weight.grad.abs().sum() > 0 and ranker.item_emb.grad.abs().sum() > 0
    assert rater.score_all().shape == (4, 5) and ranker(history, torch.zeros(3, 0)).logits.shape == (3, 5)


def test_liked_scales_with_the_rating_range():
    assert recsys.liked_threshold((1, 5)) == pytest.approx(3.4)  # 4 and 5 stars, as MovieLens 100k always had
    assert recsys.liked_threshold((0.5, 5)) == pytest.approx(3.2)  # 3.5 half stars and up
    assert recsys.liked_threshold((0, 10)) == pytest.approx(6.0)


def latest_small_like(tmp_path, seed=0):
    """ratings.csv and movies.csv in the shape of MovieLens latest-small, from a few generated rows:
    ids with gaps, half-star ratings, ``A|B|C`` genres, titles with the year."""
    rng = np.random.default_rng(seed)
    genres = ["Action", "Comedy", "Drama", "Sci-Fi"]
    movie_ids = np.arange(1, 41) * 7 + 3
    movie_genre = rng.integers(0, 4, 40)
    rows = []
    for user in range(1, 31):
        taste = user % 4
        liked = movie_ids[movie_genre == taste]
        others = rng.choice(movie_ids[movie_genre != taste], 4, replace=False)
        for m in np.concatenate([liked, others]):
            stars = 4.5 if m in liked else rng.choice([0.5, 1.0, 1.5, 2.0])
            rows.append((user * 3, int(m), float(stars), 964_982_703 + len(rows)))
    pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"]).to_csv(tmp_path / "ratings.csv",
                                                                                     index=False)
    titles = [f"Film {i} ({1980 + i})" for i in range(40)]
    pd.DataFrame({"movieId": movie_ids, "title": titles,
                  "genres": [f"{genres[g]}|{genres[(g + 1) % 4]}" if i % 3 else genres[g]
                             for i, g in enumerate(movie_genre)]}).to_csv(tmp_path / "movies.csv", index=False)
    return tmp_path / "ratings.csv", tmp_path / "movies.csv"


def test_a_half_star_table_with_its_own_ids_trains_saves_and_recommends(tmp_path):
    ratings_csv, movies_csv = latest_small_like(tmp_path)
    data = recsys.RatingData.from_table(ratings_csv, items=movies_csv, user_col="userId", item_col="movieId",
                                        name="latest-small-like")
    assert data.n_users == 30 and data.n_items == 40 and recsys.user_features(data.users).shape == (30, 0)
    assert recsys.item_features(data.items).shape[1] > 4  # four genres and the decades
    train, test = recsys.stratified_split(data.ratings, 0.75, seed=0)
    ranking = recsys.train_ranking_model(data, train, dim=8, max_epochs=2, patience=1, progress=False)
    rating = recsys.train_rating_model(data, train, dim=4, max_epochs=2, patience=1, progress=False)
    assert rating.model.config.rating_range == (0.5, 4.5)  # the data's own scale
    recsys.Recommender.from_training(data, train, ranking.model, rating.model).save(tmp_path / "model")
    rec = recsys.Recommender.load(tmp_path / "model")
    assert rec.rating_range == (0.5, 4.5) and rec.liked == pytest.approx(2.9)
    user = int(data.users["movielens_id"].iloc[0])
    answer = rec.recommend(user, k=5)
    seen = set(data.items["movielens_id"].iloc[train.item[train.user == 0]])
    assert len(answer) == 5 and not seen & {r.item_id for r in answer}
    assert all(r.item_id in set(data.items["movielens_id"]) for r in answer)
    assert all(-0.5 < r.predicted_rating < 5.5 for r in answer)
    folded = rec.recommend_for_ratings({"Film 3 (1983)": 0.5, "Film 4": 4.5}, k=3)
    assert len(folded) == 3 and {int(data.items["movielens_id"].iloc[i]) for i in (3, 4)}.isdisjoint(
        r.item_id for r in folded)
    with pytest.raises(ValueError, match="from 0.5 to 4.5, got 5"):
        rec.recommend_for_ratings({"Film 3": 5})


def test_reasons_name_the_scale_of_the_data(trained):
    *_, rec = trained
    reasons = [r.reason for u in range(1, 30) for r in rec.recommend(u, k=10) if r.reason.startswith("because")]
    assert reasons and all(r.endswith("/5") for r in reasons)


def test_ease_matches_a_hand_computed_example():
    x = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=float))
    # X^T X + I = [[2,1,0],[1,3,1],[0,1,2]], whose inverse is [[5,-2,1],[-2,4,-2],[1,-2,5]] / 8;
    # B_ij = -P_ij / P_jj off the diagonal, 0 on it
    expected = np.array([[0, 0.5, -0.2], [0.4, 0, 0.4], [-0.2, 0.5, 0]])
    assert recsys.ease_weights(x, 1.0) == pytest.approx(expected)
    assert recsys.ease_scores(x, 1.0) == pytest.approx(np.array([[0.4, 0.5, 0.2], [0.2, 0.5, 0.4]]))
    with pytest.raises(ValueError, match="lam must be a finite number"):
        recsys.ease_scores(x, -1.0)


def test_choose_ease_lambda_scores_each_lambda_on_the_validation_split():
    data = recsys.synthetic_ratings(seed=4)
    train, _ = recsys.stratified_split(data.ratings)
    fit_part, val_part = recsys.stratified_split(train, 0.8, seed=1)
    x = recsys.interaction_matrix(fit_part, data.n_users, data.n_items)
    val = recsys.interaction_matrix(val_part, data.n_users, data.n_items)
    best, ndcg = recsys.choose_ease_lambda(x, val, grid=(1.0, 50.0, 5000.0))
    assert set(ndcg) == {1.0, 50.0, 5000.0} and ndcg[best] == max(ndcg.values())
    recs = recsys.top_k(recsys.ease_scores(x, 50.0), 10, exclude=x)
    assert ndcg[50.0] == pytest.approx(ranking_metrics(recs, val, k=10)["ndcg@10"])
    chance = ranking_metrics(np.random.default_rng(0).permuted(np.tile(np.arange(data.n_items), (data.n_users, 1)),
                                                               axis=1)[:, :10], val, k=10)["ndcg@10"]
    assert ndcg[best] > 1.5 * chance
    with pytest.raises(ValueError, match="at least one lambda"):
        recsys.choose_ease_lambda(x, val, grid=())


def test_dot_product_model_is_mean_plus_biases_plus_dot():
    torch.manual_seed(0)
    model = recsys.DotProductModel(5, 7, dim=3, mean=3.0)
    with torch.no_grad():
        model.user_bias.weight.fill_(0.5)
        model.item_bias.weight.fill_(-0.25)
    users, items = torch.tensor([0, 4, 2]), torch.tensor([6, 0, 3])
    expected = 3.0 + 0.5 - 0.25 + (model.user_emb.weight[users] * model.item_emb.weight[items]).sum(-1)
    assert torch.allclose(model(users, items), expected)
    assert torch.allclose(model.score_all()[users, items], expected.detach())


def test_tabular_fields_code_what_the_user_table_has():
    users = pd.DataFrame({"age": [20, 40, np.nan, 70], "gender": ["F", "M", "M", None], "zip": ["1", "2", "3", "4"]})
    codes, sizes = recsys.tabular_fields(users)
    assert codes.shape == (4, 2) and sizes == [4, 3]  # age buckets 24, 44, 200 seen (+ missing); F, M (+ missing)
    assert codes[2, 0] == 0 and codes[3, 1] == 0  # a missing value is code 0
    assert codes[0, 1] != codes[1, 1] and codes[1, 1] == codes[2, 1]
    codes, sizes = recsys.tabular_fields(pd.DataFrame({"movielens_id": [1, 2]}))
    assert codes.shape == (2, 0) and sizes == []


@pytest.mark.parametrize("with_features", [True, False])
def test_tabular_net_embeds_what_exists_and_stays_in_range(with_features):
    data = recsys.synthetic_ratings(n_users=30, n_items=20, seed=1)
    users = data.users if with_features else data.users[["movielens_id"]]
    items = data.items if with_features else data.items[["movielens_id", "title"]]
    fields, sizes = recsys.tabular_fields(users)
    genres = recsys.genre_matrix(items)
    assert (len(sizes) > 0, genres.shape[1] > 0) == (with_features, with_features)
    model = recsys.TabularNet(data.n_users, data.n_items, fields, sizes, genres, dim=4, hidden=8,
                              rating_range=(1.0, 5.0))
    assert len(model.field_embs) == len(sizes) and model.mlp[0].in_features == 4 * (2 + len(sizes) + with_features)
    out = model(torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]), labels=torch.tensor([1.0, 3.0, 5.0]))
    assert out.logits.shape == (3,) and ((out.logits > 0.5) & (out.logits < 5.5)).all() and out.loss.item() > 0
    stars = recsys.predict_all_ratings(model, data.n_users, data.n_items, users_per_batch=7)
    assert stars.shape == (30, 20)
    pairs = model.eval()(torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])).logits.detach().numpy()
    assert np.allclose(stars[[0, 1, 2], [3, 4, 5]], pairs, atol=1e-6)


def test_train_tabular_model_learns_on_a_bare_ratings_table():
    data = recsys.synthetic_ratings(seed=2)
    bare = recsys.ratings_from_table(data.ratings[["user", "item", "rating"]])  # no user or item features
    train, test = recsys.stratified_split(bare.ratings, 0.8, seed=0)
    run = recsys.train_tabular_model(bare, train, dim=8, hidden=16, batch_size=64, max_epochs=8, progress=False)
    stars = recsys.predict_all_ratings(run.model, bare.n_users, bare.n_items)
    assert 1 <= run.epochs <= 8 and stars.min() >= 0.5 and stars.max() <= 5.5
    mean_rmse = recsys.rmse(test.rating, np.full(len(test), train.rating.mean()))
    assert recsys.rmse(test.rating, stars[test.user, test.item]) < mean_rmse


def test_load_ratings_reads_movielens_synthetic_or_a_csv(tmp_path):
    assert recsys.load_ratings("ml-100k", "smoke").name == "synthetic"
    path = tmp_path / "mine.csv"
    pd.DataFrame({"user": ["a", "b", "a"], "item": [10, 10, 20], "rating": [1, 2, 3]}).to_csv(path, index=False)
    data = recsys.load_ratings(path, "quick")
    assert (data.name, data.n_users, data.n_items) == ("mine", 2, 2)
    with pytest.raises(ValueError, match="'ml-100k' or the path of a ratings CSV"):
        recsys.load_ratings(tmp_path / "missing.csv", "quick")
