"""Day 5 sentiment pieces: padding, bucketing, truncation, calibration math, the inference class."""

import json
import shutil

import numpy as np
import pytest
import torch

from applied_mlx import sentiment as S
from applied_mlx.artifacts import ArtifactError, Component
from applied_mlx.env import seed_everything
from applied_mlx.training import fit


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny random DistilBERT built locally and loaded back through from_pretrained."""
    folder = S.build_tiny_text_model(tmp_path_factory.mktemp("tiny"), S.smoke_vocabulary(), seed=0)
    model, tokenizer = S.load_text_classifier(folder)
    return model, tokenizer


@pytest.fixture(scope="module")
def artifact(tiny, tmp_path_factory):
    model, tokenizer = tiny
    return S.save_text_classifier(tmp_path_factory.mktemp("art") / "Day5", model, tokenizer,
                                  label_names=S.LABEL_NAMES, max_length=16, temperature=1.5,
                                  metrics={"accuracy": 0.5}, profile="smoke")


# Data -------------------------------------------------------------------------------------

def test_smoke_data_is_labelled_by_its_words_and_repeatable():
    train, dev = S.make_smoke_sentiment_data(n_train=200, n_dev=50, seed=3)
    assert (len(train), len(dev)) == (200, 50) and list(train.columns) == ["sentence", "label"]
    assert set(train.label) == {0, 1}
    for text, label in zip(train.sentence, train.label):
        positive = any(w in text.split() for w in S._SMOKE_POSITIVE)
        assert label == (positive != ("not" in text.split()))
    again, _ = S.make_smoke_sentiment_data(n_train=200, n_dev=50, seed=3)
    assert again.equals(train)


def test_tiny_model_loads_through_from_pretrained(tiny):
    model, tokenizer = tiny
    assert type(model).__name__ == "DistilBertForSequenceClassification"
    assert model.config.id2label == {0: "negative", 1: "positive"}
    encoded = tokenizer("the movie was not funny .")
    assert set(encoded) == {"input_ids", "attention_mask"}  # no token_type_ids for DistilBERT
    assert tokenizer.unk_token_id not in encoded["input_ids"]


# Padding and bucketing --------------------------------------------------------------------

def test_collator_pads_to_the_longest_in_the_batch_only():
    items = [{"input_ids": [5, 6, 7], "labels": 1}, {"input_ids": [8], "labels": 0}]
    batch = S.DynamicPaddingCollator(pad_token_id=9)(items)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 9, 9]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, 0]
    assert "labels" not in S.DynamicPaddingCollator()([{"input_ids": [1, 2]}])


def test_length_bucketed_batches_cover_every_index_once_longest_first():
    lengths = [3, 9, 1, 9, 4, 2, 7]
    batches = S.length_bucketed_batches(lengths, batch_size=3)
    assert [len(b) for b in batches] == [3, 3, 1]  # nothing dropped
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(7))
    assert [lengths[i] for i in flat] == [9, 9, 7, 4, 3, 2, 1]
    assert flat[:2].tolist() == [1, 3]  # stable among equal lengths
    with pytest.raises(ValueError):
        S.length_bucketed_batches(lengths, 0)


def test_bucket_sampler_shuffles_but_groups_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=1000)
    sampler = S.LengthBucketSampler(lengths, batch_size=20, pool_batches=10, seed=1)
    epoch1, epoch2 = list(sampler), list(sampler)
    assert len(epoch1) == len(sampler) == 50
    assert sorted(i for b in epoch1 for i in b) == list(range(1000))
    assert epoch1 != epoch2  # a new order each epoch
    spread = np.mean([np.ptp(lengths[b]) for b in epoch1])
    random_spread = np.mean([np.ptp(lengths[rng.permutation(1000)[:20]]) for _ in range(50)])
    assert spread < 0.3 * random_spread
    assert list(S.LengthBucketSampler(lengths, 20, 10, seed=1)) == epoch1  # repeatable


def test_loader_truncates_to_max_length(tiny):
    _, tokenizer = tiny
    long = " ".join(["the movie was funny ."] * 100)
    loader = S.text_loader([long, "dull ."], [1, 0], tokenizer, max_length=12, batch_size=2)
    batch = next(iter(loader))
    assert batch["input_ids"].shape == (2, 12)
    assert batch["input_ids"][0, -1].item() == tokenizer.sep_token_id  # truncated, still closed
    assert batch["attention_mask"].sum(1).tolist() == [12, 4]


def test_predict_logits_keeps_input_order_whatever_the_batching(tiny):
    model, tokenizer = tiny
    texts = ["dull .", "the plot was really dull and boring and painful .", "funny .", "the movie was superb ."]
    one_by_one = np.concatenate([S.predict_logits(model, tokenizer, [t], batch_size=1) for t in texts])
    batched = S.predict_logits(model, tokenizer, texts, batch_size=3)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_tiny_model_learns_the_smoke_task_with_the_shared_loop(tmp_path):
    train, dev = S.make_smoke_sentiment_data(n_train=256, n_dev=64, seed=0)
    model, tokenizer = S.load_text_classifier(S.build_tiny_text_model(tmp_path, S.smoke_vocabulary(), seed=1))
    loader = S.text_loader(train.sentence, train.label, tokenizer, batch_size=16, shuffle=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    scheduler = S.linear_warmup_scheduler(optimizer, 8 * len(loader))
    fit(model, loader, optimizer=optimizer, scheduler=scheduler, scheduler_interval="batch", num_epochs=8,
        seed=0, progress=False)
    logits = S.predict_logits(model, tokenizer, dev.sentence.tolist())
    assert np.mean(logits.argmax(1) == dev.label.values) > 0.8


def test_the_written_out_epoch_is_the_shared_loops_epoch(tmp_path):
    # The lesson trains its first epoch with train_one_epoch, then hands over to fit: the same seed gives
    # the same weights either way, and loader_accuracy agrees with the logits.
    train, _ = S.make_smoke_sentiment_data(n_train=64, n_dev=8, seed=0)
    folder = S.build_tiny_text_model(tmp_path, S.smoke_vocabulary(), seed=1)
    weights = []
    for written_out in (True, False):
        model, tokenizer = S.load_text_classifier(folder)
        loader = S.text_loader(train.sentence, train.label, tokenizer, batch_size=16, shuffle=True)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        scheduler = S.linear_warmup_scheduler(optimizer, len(loader))
        if written_out:
            seed_everything(0)
            losses = S.train_one_epoch(model, loader, optimizer, scheduler, grad_clip=1.0)
            assert len(losses) == len(loader) and all(np.isfinite(losses))
        else:
            fit(model, loader, optimizer=optimizer, scheduler=scheduler, scheduler_interval="batch", num_epochs=1,
                grad_clip=1.0, seed=0, progress=False)
        weights.append({k: v.clone() for k, v in model.state_dict().items()})
    for name, value in weights[0].items():
        torch.testing.assert_close(value, weights[1][name], msg=name)
    eval_loader = S.text_loader(train.sentence, train.label, tokenizer, batch_size=16)
    logits = S.predict_logits(model, tokenizer, train.sentence.tolist())
    assert S.loader_accuracy(model, eval_loader) == pytest.approx(np.mean(logits.argmax(1) == train.label.values))


def test_load_sst2_reads_a_folder_of_your_own(tmp_path):
    (tmp_path / "train.tsv").write_text('sentence\tlabel\na "null" film\t0\nnull\t1\n', encoding="utf-8")
    (tmp_path / "dev.tsv").write_text("sentence\tlabel\nfine\t1\n", encoding="utf-8")
    train, dev = S.load_sst2(tmp_path)
    assert train.sentence.tolist() == ['a "null" film', "null"] and train.label.tolist() == [0, 1]
    assert len(dev) == 1
    (tmp_path / "dev.tsv").unlink()
    with pytest.raises(ValueError, match="dev.tsv"):
        S.load_sst2(tmp_path)


def test_freeze_word_embeddings_leaves_the_rest_trainable(tmp_path):
    model, _ = S.load_text_classifier(S.build_tiny_text_model(tmp_path, S.smoke_vocabulary()))
    total = S.count_parameters(model)
    frozen = S.freeze_word_embeddings(model)
    assert frozen == model.config.vocab_size * model.config.dim
    assert S.count_parameters(model, trainable=True) == total - frozen
    assert not model.get_input_embeddings().weight.requires_grad


def test_linear_warmup_then_decay():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = S.linear_warmup_scheduler(opt, num_training_steps=10, warmup_ratio=0.2)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125])


# Calibration ------------------------------------------------------------------------------

def test_softmax_with_temperature_by_hand():
    p = S.softmax_with_temperature([[0.0, np.log(3.0)]], temperature=1.0)
    np.testing.assert_allclose(p, [[0.25, 0.75]])
    p2 = S.softmax_with_temperature([[0.0, 2 * np.log(3.0)]], temperature=2.0)
    np.testing.assert_allclose(p2, [[0.25, 0.75]])
    with pytest.raises(ValueError):
        S.softmax_with_temperature([[0.0, 1.0]], temperature=0.0)


def test_nll_at_temperature_by_hand():
    assert S.nll_at_temperature([[0.0, np.log(3.0)]], [1], 1.0) == pytest.approx(-np.log(0.75))
    assert S.nll_at_temperature([[0.0, np.log(3.0)]], [0], 1.0) == pytest.approx(-np.log(0.25))


def test_fit_temperature_recovers_a_known_overconfidence():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, size=(20000, 3))
    probs = S.softmax_with_temperature(true_logits)
    labels = np.array([rng.choice(3, p=row) for row in probs])
    # A model 2.5x too confident: its logits are the true ones scaled by 2.5; T should undo that.
    t = S.fit_temperature(2.5 * true_logits, labels)
    assert t == pytest.approx(2.5, rel=0.05)
    assert S.fit_temperature(true_logits, labels) == pytest.approx(1.0, rel=0.05)
    # and it is the NLL minimum: nearby temperatures do no better
    best = S.nll_at_temperature(2.5 * true_logits, labels, t)
    assert all(best <= S.nll_at_temperature(2.5 * true_logits, labels, t * f) + 1e-9 for f in (0.9, 1.1))


def test_temperature_lowers_ece_and_keeps_the_predictions():
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 1.5, size=(5000, 2))
    labels = np.array([rng.choice(2, p=row) for row in S.softmax_with_temperature(true_logits)])
    overconfident = 4 * true_logits
    t = S.fit_temperature(overconfident, labels)
    before = S.calibration_summary(labels, overconfident)
    after = S.calibration_summary(labels, overconfident, t)
    assert after["ece"] < 0.5 * before["ece"] and after["nll"] < before["nll"]
    assert after["brier"] < before["brier"]
    np.testing.assert_array_equal(S.softmax_with_temperature(overconfident, t).argmax(1), overconfident.argmax(1))


def test_calibration_summary_by_hand():
    # two samples, both predicted class 1 with 0.75; one right: ECE = |0.5 - 0.75| = 0.25
    logits = [[0.0, np.log(3.0)], [0.0, np.log(3.0)]]
    out = S.calibration_summary([1, 0], logits)
    assert out["ece"] == pytest.approx(0.25)
    assert out["brier"] == pytest.approx(((0.25**2 + 0.25**2) + (0.75**2 + 0.75**2)) / 2)
    with pytest.raises(ValueError):
        S.fit_temperature(np.zeros((0, 2)), [])


# Baseline ---------------------------------------------------------------------------------

def test_tfidf_baseline_learns_the_smoke_words():
    train, dev = S.make_smoke_sentiment_data(n_train=300, n_dev=100, seed=0)
    pipeline = S.tfidf_baseline(train.sentence, train.label)
    assert pipeline.predict_proba(dev.sentence).shape == (100, 2)
    assert np.mean(pipeline.predict(dev.sentence) == dev.label.values) > 0.8


# The inference class ----------------------------------------------------------------------

def test_save_load_round_trip_gives_identical_predictions(tiny, artifact):
    model, tokenizer = tiny
    clf = S.SentimentClassifier.load(artifact)
    texts = ["the movie was superb .", "the plot was dull .", "the acting was not funny ."]
    expected = S.softmax_with_temperature(S.predict_logits(model, tokenizer, texts, max_length=16), 1.5)
    np.testing.assert_allclose(clf.predict_proba(texts), expected, atol=1e-6)
    config = json.loads((artifact / "config.json").read_text())
    assert config["component"] == "sentiment" and config["label_names"] == ["negative", "positive"]
    assert config["max_length"] == 16 and config["temperature"] == 1.5 and config["profile"] == "smoke"
    assert (artifact / "model" / "model.safetensors").is_file()
    assert clf.metrics == {"accuracy": 0.5}


def test_predict_returns_labels_and_probabilities(artifact):
    clf = S.SentimentClassifier.load(artifact)
    one = clf.predict("the movie was superb .")
    assert isinstance(one, S.TextPrediction) and one.label in S.LABEL_NAMES
    assert sum(one.probabilities.values()) == pytest.approx(1.0)
    assert one.score == max(one.probabilities.values())
    assert one.label == max(one.probabilities, key=one.probabilities.get)
    many = clf.predict(["the movie was superb .", "dull ."])
    assert isinstance(many, list) and len(many) == 2 and many[0].label == one.label
    assert many[0].score == pytest.approx(one.score, abs=1e-5)  # padding in a batch: float noise only
    assert set(one.to_dict()) == {"label", "score", "probabilities"}


@pytest.mark.parametrize("text", ["I loved it 😍🔥", "c'était vraiment nul", "映画はとても良かった",
                                  "great " * 2000, "a" * 10_000])
def test_odd_but_valid_inputs_work(artifact, text):
    clf = S.SentimentClassifier.load(artifact, batch_size=2)
    result = clf.predict(text)
    assert result.label in S.LABEL_NAMES and 0.5 <= result.score <= 1.0


def test_long_texts_are_truncated_to_the_trained_length(artifact):
    clf = S.SentimentClassifier.load(artifact)
    prefix = "the movie was superb . " * 3  # 15 tokens + [CLS]: already at the trained 16
    p1 = clf.predict_proba(prefix + "dull " * 500)
    p2 = clf.predict_proba(prefix + "wonderful " * 3000)
    np.testing.assert_allclose(p1, p2, atol=1e-6)  # what lies past max_length cannot matter


@pytest.mark.parametrize("bad, message", [
    (None, "got NoneType"), ("", "empty"), ("   \n", "empty"), ([], "empty list"), (["ok", None], "item 1 is None"),
    (["ok", 3], "item 1 is a int"), (42, "got int"), ({"text": "hi"}, "got dict"), ([""], "item 0 is empty"),
    ("\u200b\u200b", "the text is empty"), ("\x00", "the text is empty"), ("\x00\x01\x7f", "the text is empty"),
    ("\ufeff \u2028", "the text is empty"), ("\ud800", "the text is empty"), (["ok", "\u200d\t"], "item 1 is empty"),
    (["ok"] * (S.MAX_TEXTS + 1), "pass at most 10,000 strings per call"),
    ("a" * (S.MAX_TEXT_CHARS + 1), "100,001 characters; pass strings of at most 100,000"),
    (["a" * S.MAX_TEXT_CHARS] * (S.MAX_TOTAL_CHARS // S.MAX_TEXT_CHARS + 1), "more than 10,000,000 characters in all"),
])
def test_bad_inputs_raise_a_clear_value_error(artifact, bad, message):
    clf = S.SentimentClassifier.load(artifact)
    with pytest.raises(ValueError, match=message) as err:
        clf.predict(bad)
    assert "string" in str(err.value)  # says what is accepted


def test_unpaired_surrogates_are_dropped_and_split_pairs_joined(artifact):
    clf = S.SentimentClassifier.load(artifact)
    plain = clf.predict("the movie was superb .").probabilities
    assert clf.predict("\ud800the movie was superb .").probabilities == pytest.approx(plain, abs=1e-6)
    assert S.check_texts(["a\udc00b", "x \ud83d\ude00"])[0] == ["ab", "x \U0001f600"]  # a pair in two halves
    assert clf.predict(["superb \ud83d\ude00"])[0].probabilities == pytest.approx(
        clf.predict("superb \U0001f600").probabilities, abs=1e-6)


def test_settings_hold_each_profiles_sizes_and_model():
    smoke, quick, full = (S.settings(p) for p in ("smoke", "quick", "full"))
    assert set(smoke) == set(quick) == set(full)
    assert smoke["model_name"] == S.SMOKE_MODEL and smoke["max_length"] == 64 and not smoke["freeze_word_embeddings"]
    assert quick["model_name"] == S.STANDIN_MODEL and quick["freeze_word_embeddings"] and quick["n_train"] == 20_000
    assert full["model_name"] == S.DEFAULT_MODEL and full["n_train"] is None
    smoke["lr"] = 1.0  # a copy: the caller may change it
    assert S.settings("smoke")["lr"] == 3e-3
    with pytest.raises(ValueError, match="unknown profile 'huge'; use one of smoke, quick, full"):
        S.settings("huge")


def test_classifiers_follow_the_component_contract(artifact):
    assert isinstance(S.SentimentClassifier.load(artifact), Component)
    assert S.SentimentClassifier.COMPONENT == S.COMPONENT == "sentiment"
    assert S.TextClassifier.COMPONENT == "text-classifier"


def test_save_writes_what_load_reads_back(artifact, tmp_path):
    clf = S.SentimentClassifier.load(artifact)
    again = S.SentimentClassifier.load(clf.save(tmp_path / "again", note="saved twice"))
    texts = ["the movie was superb .", "the plot was dull ."]
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-6)
    assert (again.temperature, again.max_length, again.label_names) == (1.5, 16, list(S.LABEL_NAMES))
    assert again.config["profile"] == "smoke" and again.config["note"] == "saved twice"
    assert again.metrics == {"accuracy": 0.5}
    with pytest.raises(ValueError, match="sets temperature itself"):
        clf.save(tmp_path / "x", temperature=2.0)
    with pytest.raises(ValueError, match="a quantized classifier is not saved"):
        S.SentimentClassifier.load(artifact, quantize=True).save(tmp_path / "int8")


def changed_copy(artifact, tmp_path, config=None, files=None):
    """A copy of the artifact with config.json fields replaced and files written (bytes, or an edit of them)."""
    folder = shutil.copytree(artifact, tmp_path / "copy")
    data = {**json.loads((folder / "config.json").read_text()), **(config or {})}
    (folder / "config.json").write_text(json.dumps(data))
    for name, content in (files or {}).items():
        path = folder / name
        path.write_bytes(content(path.read_bytes()) if callable(content) else content)
    return folder


@pytest.mark.parametrize("config, files, message", [
    ({"label_names": "negative"}, None, "label_names must be a list"),
    ({"label_names": ["negative", 1]}, None, r"label_names\[1\] must be a string"),
    ({"label_names": ["a", "a"]}, None, "label_names must be two or more distinct non-empty names"),
    ({"label_names": ["a", "b", "c"]}, None, "has 2 outputs but the field 'label_names' of .* names 3 labels"),
    ({"max_length": "16"}, None, "max_length must be a whole number"),
    ({"max_length": 10_000}, None, "'max_length' is 10000, but the model reads at most 128 tokens"),
    ({"temperature": "hot"}, None, "temperature must be a number"),
    ({"temperature": -1.0}, None, "temperature must be a finite number > 0"),
    ({"temperature": float("nan")}, None, "temperature must be a finite number > 0"),
    (None, {"model/pytorch_model.bin": b"\x80\x04not really"}, "pytorch_model.bin: pickle-based files"),
    (None, {"model/model.safetensors": lambda raw: raw[:-1000]}, "model/ folder could not be read"),
    (None, {"model/config.json": b"{not json"}, "model/ folder could not be read"),
    (None, {"model/tokenizer.json": b"[1, 2"}, "model/ folder could not be read"),
])
def test_every_load_fault_is_an_artifact_error(artifact, tmp_path, config, files, message):
    with pytest.raises(ArtifactError, match=message):
        S.SentimentClassifier.load(changed_copy(artifact, tmp_path, config, files))


def test_bad_load_options_are_value_errors_before_anything_is_read(tmp_path):
    for options, message in [({"batch_size": 0}, "batch_size must be a whole number >= 1"),
                             ({"quantize": True, "int8_activations": "fp8"}, "int8_activations must be one of")]:
        with pytest.raises(ValueError, match=message) as err:
            S.SentimentClassifier.load(tmp_path / "nothing", **options)
        assert not isinstance(err.value, ArtifactError)


@pytest.mark.parametrize("activations, module", [("per_token", "Int8Linear"), ("per_tensor", "DynamicQuantizedLinear")])
def test_int8_quantization_keeps_predictions_close(tiny, artifact, activations, module):
    clf = S.SentimentClassifier.load(artifact)
    q = S.SentimentClassifier.load(artifact, quantize=True, int8_activations=activations)
    assert q.quantized and q.int8_activations == activations and module in repr(q.model)
    assert f"quantized=True ({activations})" in repr(q)
    assert not any(isinstance(m, torch.nn.Linear) for m in q.model.modules())  # every linear layer is int8
    texts = S.make_smoke_sentiment_data(n_train=0, n_dev=40)[1].sentence.tolist()
    np.testing.assert_allclose(q.predict_proba(texts), clf.predict_proba(texts), atol=0.05)
    assert S.weights_megabytes(q.model) < S.weights_megabytes(clf.model)
    assert any(isinstance(m, torch.nn.Linear) for m in tiny[0].modules())  # the original is untouched
    with pytest.raises(ValueError, match="CPU only"):
        S.SentimentClassifier.load(artifact, quantize=True, device="cuda")


def test_int8_linear_by_hand():
    layer = torch.nn.Linear(4, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -0.5, 0.25, 0.0], [0.1, 0.2, 0.3, 0.4]]))
        layer.bias.copy_(torch.tensor([0.5, -1.0]))
    q = S.Int8Linear(layer)
    assert q.weight_t.dtype == torch.int8 and q.weight_t.shape == (4, 2)
    assert q.weight_t[:, 0].tolist() == [127, -64, 32, 0]  # each row scaled by its own largest |w|: 1.0 / 127
    x = torch.tensor([[2.0, 1.0, -1.0, 0.5], [0.02, -0.01, 0.0, 0.03]])  # two tokens, 100x apart in size
    exact = layer(x).detach()
    assert torch.allclose(q(x), exact, atol=0.02)
    assert torch.allclose(q(x[1:]), q(x)[1:])  # the small token's result does not depend on the big one
    assert q(x[None]).shape == (1, 2, 2) and torch.allclose(q(x[None])[0], q(x))  # any leading shape


def test_int8_per_token_results_do_not_depend_on_the_batch(artifact):
    q = S.SentimentClassifier.load(artifact, quantize=True)
    texts = S.make_smoke_sentiment_data(n_train=0, n_dev=24)[1].sentence.tolist()
    q.batch_size = 1
    alone = q.predict_proba(texts)
    q.batch_size = 24
    together = q.predict_proba(texts)
    np.testing.assert_allclose(alone, together, atol=1e-5)  # float noise in the fp32 parts only
    with pytest.raises(ValueError, match="activations must be one of"):
        S.quantize_int8(q.model, activations="per_channel")


def test_load_refuses_a_wrong_or_incomplete_artifact(artifact, tmp_path):
    with pytest.raises(ArtifactError, match="no artifact folder"):
        S.SentimentClassifier.load(tmp_path / "nothing")
    config = json.loads((artifact / "config.json").read_text())
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model").symlink_to(artifact / "model")
    (broken / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "temperature"}))
    with pytest.raises(ArtifactError, match="temperature"):
        S.SentimentClassifier.load(broken)
    (broken / "config.json").write_text(json.dumps({**config, "component": "recommender"}))
    with pytest.raises(ArtifactError, match="recommender"):
        S.SentimentClassifier.load(broken)


def test_compiled_int8_classifier_gives_the_uncompiled_results(artifact):
    eager = S.SentimentClassifier.load(artifact, quantize=True)
    compiled = S.SentimentClassifier.load(artifact, quantize=True, compile=True)
    assert compiled.compiled and "compiled" in repr(compiled) and "compiled" not in repr(eager)
    texts = S.make_smoke_sentiment_data(n_train=0, n_dev=12)[1].sentence.tolist()
    for size in (1, 12):  # both shapes: batch 1 and a batch
        eager.batch_size = compiled.batch_size = size
        np.testing.assert_allclose(compiled.predict_proba(texts), eager.predict_proba(texts), atol=1e-4)
    assert compiled.compiled  # it really ran compiled, without falling back


def test_a_model_that_cannot_compile_runs_uncompiled_with_a_warning(artifact, monkeypatch):
    class Broken(torch.nn.Module):  # what torch.compile returns: the model, failing at its first call
        def __init__(self, model):
            super().__init__()
            self.inner = model

        def forward(self, *args, **kw):
            raise RuntimeError("Compiler: cc not found\nmore detail")

    def broken(model, **kwargs):
        return Broken(model)

    monkeypatch.setattr(torch, "compile", broken)
    clf = S.SentimentClassifier.load(artifact, compile=True)
    expected = S.SentimentClassifier.load(artifact).predict_proba(["a good film", "a bad film"])
    with pytest.warns(UserWarning, match="could not compile the model .RuntimeError: Compiler: cc not found.; "
                                         "running it uncompiled"):
        got = clf.predict_proba(["a good film", "a bad film"])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert not clf.compiled and "compiled" not in repr(clf)
    clf.predict_proba("a good film")  # no second warning, no second try
