"""Day 3 on the real data (quick profile): CLINC150 intents with out-of-scope rejection and SQuAD v1.1
extractive QA, with the offline stand-in encoder (all-MiniLM-L6-v2) resolved from the mirror.

The quick profile is far from the reference protocol (30 sentences per intent, 2,000 SQuAD dev questions
for fine-tuning, a 22.7M-parameter stand-in), so the floors below are what that protocol must reach, not
the published 96-97% / 79.6-87.0; the gap is stated in the notebook and the day's README. It trains exactly
as the notebook does, through the package's ``new_intent_classifier``/``train_intent_classifier`` and
``new_qa_model``/``train_qa_model``, so the two report the same numbers.
"""


import numpy as np
import pytest
import torch

from applied_mlx import assistant as A
from applied_mlx.data import fetch, resolve_model
from applied_mlx.training import predict

pytestmark = pytest.mark.integration
SEED = 0
# Floors for the quick protocol, fixed before its numbers were known: beat the TF-IDF baseline on the
# same subset and reject a fifth of the out-of-scope requests; QA well above an untrained head.
OOS_RECALL_FLOOR = 0.20
QA_F1_FLOOR = 15.0
QA_EM_FLOOR = 5.0


@pytest.fixture(scope="module")
def cfg(day3_cfg):
    return day3_cfg


def test_data_sets_have_their_published_sizes(cfg):
    clinc = A.load_clinc150(fetch("clinc150"))
    assert [len(clinc[s]) for s in ("train", "val", "test")] == [15_100, 3_100, 5_500]
    squad = A.load_squad(fetch("squad-v1.1-dev"))
    assert len(squad) == 10_570 and len({r["title"] for r in squad}) == 48
    train, held_out = A.split_by_title(squad, cfg["squad_train_titles"])
    assert not {r["title"] for r in train} & {r["title"] for r in held_out}


def test_quick_intent_classifier_rejects_out_of_scope(cfg):
    from transformers import AutoTokenizer

    splits = A.load_clinc150(fetch("clinc150"))
    ins = [p for p in splits["train"] if p[1] != A.OOS]
    train = A.subsample_per_label(ins, cfg["train_per_intent"], SEED) + [p for p in splits["train"] if p[1] == A.OOS]
    val = A.subsample_per_label([p for p in splits["val"] if p[1] != A.OOS], cfg["val_per_intent"], SEED) + \
        [p for p in splits["val"] if p[1] == A.OOS]
    labels = sorted({y for _, y in splits["train"]})
    to_id = {y: i for i, y in enumerate(labels)}
    tok = AutoTokenizer.from_pretrained(cfg["source"])
    model = A.new_intent_classifier(cfg["source"], labels, pooling=cfg["intent_pooling"], seed=SEED)
    A.train_intent_classifier(model, tok, train, val, max_length=cfg["max_length"], batch_size=cfg["batch_size"],
                              epochs=cfg["intent_epochs"], lr=cfg["intent_lr"], head_lr=cfg["intent_head_lr"],
                              warmup=cfg["warmup"], device="cpu", seed=SEED, progress=False)
    probs = lambda pairs: torch.softmax(predict(model, A.intent_loader(tok, pairs, to_id, cfg["max_length"], 128),
                                                device="cpu"), -1).numpy()
    oos = to_id[A.OOS]
    threshold, _ = A.choose_threshold(probs(val), [to_id[y] for _, y in val], oos)
    y_test = [to_id[y] for _, y in splits["test"]]
    scores = A.oos_scores(y_test, A.apply_threshold(probs(splits["test"]), threshold, oos), oos)
    print(f"quick CLINC150: threshold {threshold:.2f}, {scores}")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit([t for t, _ in train])
    clf = LogisticRegression(max_iter=2000, C=10).fit(vec.transform([t for t, _ in train]),
                                                      [to_id[y] for _, y in train])
    baseline = float(np.mean(clf.predict(vec.transform([t for t, y in splits["test"] if y != A.OOS])) ==
                             np.array([to_id[y] for _, y in splits["test"] if y != A.OOS])))
    print(f"TF-IDF + logreg in-scope accuracy (no threshold): {baseline:.4f}")
    assert scores["in_scope_accuracy"] > baseline
    assert scores["oos_recall"] >= OOS_RECALL_FLOOR


def test_quick_qa_model_extracts_answers(cfg):
    from transformers import AutoTokenizer

    rows = A.load_squad(fetch("squad-v1.1-dev"))
    train_all, eval_all = A.split_by_title(rows, cfg["squad_train_titles"])
    rng = np.random.default_rng(SEED)
    take = lambda r, n: [r[i] for i in sorted(rng.permutation(len(r))[:n])]
    train, held_out = take(train_all, cfg["qa_train_questions"]), take(eval_all, cfg["qa_eval_questions"])
    tok = AutoTokenizer.from_pretrained(resolve_model(cfg["qa_model"]))
    model = A.new_qa_model(resolve_model(cfg["qa_model"]), seed=SEED)
    untrained = A.squad_em_f1([p["text"] for p in A.extract_answers(
        model, tok, [r["question"] for r in held_out], [r["context"] for r in held_out], cfg["qa_max_length"],
        cfg["qa_stride"])], [r["answers"] for r in held_out])
    A.train_qa_model(model, tok, train, max_length=cfg["qa_max_length"], stride=cfg["qa_stride"],
                     epochs=cfg["qa_epochs"], lr=cfg["qa_lr"], warmup=cfg["warmup"], device="cpu", seed=SEED,
                     progress=False)
    preds = A.extract_answers(model, tok, [r["question"] for r in held_out], [r["context"] for r in held_out],
                              cfg["qa_max_length"], cfg["qa_stride"])
    scores = A.squad_em_f1([p["text"] for p in preds], [r["answers"] for r in held_out])
    print(f"quick SQuAD ({len(held_out)} held-out questions): {scores}")
    print(f"untrained QA head: {untrained}")
    assert scores["f1"] >= QA_F1_FLOOR and scores["f1"] >= untrained["f1"] + 10
    assert scores["exact_match"] >= QA_EM_FLOOR
