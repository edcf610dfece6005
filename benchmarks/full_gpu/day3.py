"""Day 3 (assistant) on a GPU: the notebook's pipeline with A.settings("full"), with the MiniLM
stand-in in place of the DistilBERT models that full names (they are not available offline).

Intent: all of CLINC150 train (15,000 in-scope + 100 oos), val (3,000 + 100) for the epoch and the
threshold, test (4,500 + 1,000); full's max_length 64, 3 epochs, lr 5e-5, batch 32, fit's defaults
(AdamW, no schedule, AMP on CUDA). A second run with the quick profile's lr (1.5e-4) is reported
as a variant, chosen on val like everything else.
QA: full evaluates distilbert-base-cased-distilled-squad as is (no fine-tuning). The stand-in has no
QA head, so the quick protocol is kept: fine-tune on the questions of the first 24 SQuAD v1.1 dev
articles (all 5,696 here, not a 1,000 subset) and evaluate on every question of the 24 other
articles (4,874), with full's 384-token windows and stride 128; qa_epochs/qa_lr given below.
Skills: the chat classifier of the notebook (skill examples + 60 CLINC oos), full's 10 epochs, lr 5e-5.

Usage: python day3.py --budget 300 [--tiny]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch

from common import LoggedLoader, environment, history_records, log, out_dir, write_json


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--budget", type=float, default=300.0)
    p.add_argument("--qa-epochs", type=int, default=2)
    p.add_argument("--qa-lr", type=float, default=1e-4)
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    start = time.perf_counter()

    import transformers
    from transformers import AutoModelForQuestionAnswering, AutoModelForSequenceClassification, AutoTokenizer

    from applied_mlx import assistant as A, env
    from applied_mlx.data import fetch, resolve_model
    from applied_mlx.metrics import accuracy_from_logits
    from applied_mlx.training import fit, predict, tensor_loader

    transformers.logging.set_verbosity_error()
    device = env.get_device()
    seed = env.seed_everything(0)
    cfg = A.settings("full")
    full_names = {"intent_model": cfg["intent_model"], "qa_model": cfg["qa_model"]}
    cfg.update(intent_model=A.STAND_IN_MODEL, qa_model=A.STAND_IN_MODEL, qa_train_questions=None,
               qa_epochs=args.qa_epochs, qa_lr=args.qa_lr)
    if args.tiny:
        cfg.update(train_per_intent=3, val_per_intent=2, intent_epochs=1, qa_train_questions=64, qa_eval_questions=32,
                   qa_epochs=1, skill_epochs=1, qa_max_length=192, qa_stride=64)
    out_path = Path(args.out) if args.out else out_dir() / "day3.json"
    result = {"day": 3, "task": "assistant: CLINC150 intents + SQuAD QA", "environment": environment(),
              "profile": "full (with stand-in substitutions)", "full_profile_models": full_names,
              "standin": A.STAND_IN_MODEL,
              "weights_note": "all-MiniLM-L6-v2 travelled as an fp16 copy, upcast to fp32 before loading: "
                              "faithful up to fp16 rounding",
              "settings": cfg, "tiny_dry_run": args.tiny,
              "qa_protocol": "stand-in has no SQuAD head: fine-tuned on the questions of the first 24 dev articles, "
                             "evaluated on all questions of the other 24 (quick protocol, full window sizes); "
                             "SQuAD train is not in the mirror"}

    intent_splits = A.load_clinc150(fetch("clinc150"))
    squad_rows = A.load_squad(fetch("squad-v1.1-dev"))
    train_titles = 24
    oos_name = A.OOS
    ins_train = [q for q in intent_splits["train"] if q[1] != oos_name]
    train_pairs = A.subsample_per_label(ins_train, cfg["train_per_intent"], seed) + \
        [q for q in intent_splits["train"] if q[1] == oos_name]
    val_pairs = A.subsample_per_label([q for q in intent_splits["val"] if q[1] != oos_name], cfg["val_per_intent"], seed) + \
        [q for q in intent_splits["val"] if q[1] == oos_name]
    test_pairs = intent_splits["test"]
    if args.tiny:
        test_pairs = test_pairs[:300] + test_pairs[-100:]
    label_names = sorted({y for _, y in intent_splits["train"]})
    label_to_id = {y: i for i, y in enumerate(label_names)}
    oos_id = label_to_id[oos_name]
    squad_train_all, squad_eval_all = A.split_by_title(squad_rows, train_titles)
    rng = np.random.default_rng(seed)

    def take(rows, n):
        return rows if n is None or n >= len(rows) else [rows[i] for i in sorted(rng.permutation(len(rows))[:n])]

    squad_train = take(squad_train_all, cfg["qa_train_questions"])
    squad_eval = take(squad_eval_all, cfg["qa_eval_questions"])
    result["data"] = {"labels": len(label_names), "intent_train": len(train_pairs), "intent_val": len(val_pairs),
                      "intent_test": len(test_pairs), "intent_test_oos": sum(y == oos_name for _, y in test_pairs),
                      "squad_train_questions": len(squad_train), "squad_eval_questions": len(squad_eval),
                      "squad_train_articles": train_titles}
    log(result["data"])

    intent_source = qa_source = resolve_model(A.STAND_IN_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(intent_source)
    qa_tokenizer = AutoTokenizer.from_pretrained(qa_source)

    # TF-IDF baseline
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit([x for x, _ in train_pairs])
    clf = LogisticRegression(max_iter=2000, C=10).fit(vec.transform([x for x, _ in train_pairs]),
                                                      [label_to_id[y] for _, y in train_pairs])

    def proba(texts):
        pr = np.zeros((len(texts), len(label_names)))
        pr[:, clf.classes_] = clf.predict_proba(vec.transform(texts))
        return pr

    y_val = np.array([label_to_id[y] for _, y in val_pairs])
    y_test = np.array([label_to_id[y] for _, y in test_pairs])
    base_threshold, _ = A.choose_threshold(proba([x for x, _ in val_pairs]), y_val, oos_id)
    baseline = A.oos_scores(y_test, A.apply_threshold(proba([x for x, _ in test_pairs]), base_threshold, oos_id), oos_id)
    result["intent_baseline_tfidf_logreg"] = {**baseline, "threshold": base_threshold,
                                              "seconds_cpu": time.perf_counter() - t}
    log("baseline", result["intent_baseline_tfidf_logreg"])
    write_json(out_path, result)

    def new_classifier(labels):
        return AutoModelForSequenceClassification.from_pretrained(
            intent_source, num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={y: i for i, y in enumerate(labels)}, ignore_mismatched_sizes=True)

    val_loader = A.intent_loader(tokenizer, val_pairs, label_to_id, cfg["max_length"], 128)
    test_loader = A.intent_loader(tokenizer, test_pairs, label_to_id, cfg["max_length"], 128)
    intent_runs = {}
    for name, lr in (("full_lr", cfg["intent_lr"]), ("quick_lr_variant", 1.5e-4)):
        if name != "full_lr" and time.perf_counter() - start > 0.35 * args.budget:
            intent_runs[name] = {"skipped": "time budget"}
            continue
        torch.manual_seed(seed)
        model = new_classifier(label_names)
        train_loader = A.intent_loader(tokenizer, train_pairs, label_to_id, cfg["max_length"], cfg["batch_size"],
                                       shuffle=True, seed=seed)
        fr = fit(model, LoggedLoader(train_loader, f"intent {name}", every=200), val_loader, lr=lr,
                 num_epochs=cfg["intent_epochs"], metrics={"accuracy": accuracy_from_logits}, device=device,
                 seed=seed, progress=False)
        val_probs = torch.softmax(predict(model, val_loader, device=device), -1).numpy()
        t = time.perf_counter()
        test_probs = torch.softmax(predict(model, test_loader, device=device), -1).numpy()
        test_infer_s = time.perf_counter() - t
        threshold, val_scores = A.choose_threshold(val_probs, y_val, oos_id)
        no_threshold = A.oos_scores(y_test, test_probs.argmax(1), oos_id)
        scores = A.oos_scores(y_test, A.apply_threshold(test_probs, threshold, oos_id), oos_id)
        intent_runs[name] = {"lr": lr, **scores, "threshold": threshold, "val_at_threshold": val_scores,
                             "no_threshold": no_threshold, "train_seconds": fit_seconds(fr),
                             "steps": cfg["intent_epochs"] * len(train_loader),
                             "ms_per_step": 1000 * fr.seconds / (cfg["intent_epochs"] * len(train_loader)),
                             "test_inference_seconds": test_infer_s, "best_epoch": fr.best_epoch,
                             "history": history_records(fr)}
        log(f"intent {name}: {({k: round(v, 4) for k, v in scores.items()})}, threshold {threshold}, {fr.seconds:.1f}s")
        if name == "full_lr":
            intent_model_main = model
        result["intent"] = intent_runs
        write_json(out_path, result)

    # QA
    torch.manual_seed(seed)
    qa_model = AutoModelForQuestionAnswering.from_pretrained(qa_source)
    t = time.perf_counter()
    qa_tensors = A.qa_train_tensors(qa_tokenizer, squad_train, cfg["qa_max_length"], cfg["qa_stride"])
    feat_s = time.perf_counter() - t
    n_windows = len(qa_tensors["input_ids"])
    qa_loader = tensor_loader(qa_tensors, batch_size=16, shuffle=True, seed=seed)
    qa_fr = fit(qa_model, LoggedLoader(qa_loader, "qa", every=200), lr=cfg["qa_lr"], num_epochs=cfg["qa_epochs"],
                device=device, seed=seed, progress=False)
    qa_model.to(device)
    t = time.perf_counter()
    qa_preds = A.extract_answers(qa_model, qa_tokenizer, [r["question"] for r in squad_eval],
                                 [r["context"] for r in squad_eval], cfg["qa_max_length"], cfg["qa_stride"])
    qa_eval_s = time.perf_counter() - t
    qa_scores = A.squad_em_f1([q["text"] for q in qa_preds], [r["answers"] for r in squad_eval])
    per_q = np.array([A.squad_em_f1([q["text"]], [r["answers"]])["f1"] for q, r in zip(qa_preds, squad_eval)])
    span_scores = np.array([q["score"] for q in qa_preds])
    kept = span_scores >= 0.1
    result["qa"] = {**qa_scores, "train_questions": len(squad_train), "train_windows": n_windows,
                    "eval_questions": len(squad_eval), "epochs": cfg["qa_epochs"], "lr": cfg["qa_lr"], "batch_size": 16,
                    "max_length": cfg["qa_max_length"], "stride": cfg["qa_stride"],
                    "train_seconds": qa_fr.seconds, "feature_seconds_cpu": feat_s,
                    "ms_per_step": 1000 * qa_fr.seconds / (cfg["qa_epochs"] * len(qa_loader)),
                    "eval_seconds": qa_eval_s, "ms_per_question": 1000 * qa_eval_s / len(squad_eval),
                    "answer_threshold_0.1": {"share_kept": float(kept.mean()),
                                             "f1_kept": float(per_q[kept].mean()) if kept.any() else None,
                                             "f1_below": float(per_q[~kept].mean()) if (~kept).any() else None},
                    "history": history_records(qa_fr)}
    log("qa", {k: v for k, v in result["qa"].items() if k != "history"})
    write_json(out_path, result)

    # Skills (the chat classifier) and a few replies
    oos_texts = [x for x, y in intent_splits["train"] if y == A.OOS][:60]
    skills = A.skill_splits(oos_texts, held_out=2, seed=seed)
    skill_to_id = {s: i for i, s in enumerate(A.SKILLS)}
    skill_model = new_classifier(A.SKILLS)
    skill_loader = A.intent_loader(tokenizer, skills["train"], skill_to_id, cfg["max_length"], 16, shuffle=True, seed=seed)
    skill_val = A.intent_loader(tokenizer, skills["val"], skill_to_id, cfg["max_length"], 128)
    sk = fit(skill_model, skill_loader, skill_val, lr=cfg["skill_lr"], num_epochs=cfg["skill_epochs"],
             metrics={"accuracy": accuracy_from_logits}, monitor="val_accuracy", device=device, seed=seed, progress=False)
    skill_probs = torch.softmax(predict(skill_model, skill_val, device=device), -1).numpy()
    skill_threshold, skill_scores = A.choose_threshold(skill_probs, [skill_to_id[y] for _, y in skills["val"]],
                                                       skill_to_id[A.OUT_OF_SCOPE])
    result["skills"] = {**skill_scores, "threshold": skill_threshold, "train_seconds": sk.seconds,
                        "train": len(skills["train"]), "val": len(skills["val"]), "best_epoch": sk.best_epoch}
    assistant = A.Assistant(skill_model, tokenizer, qa_model, qa_tokenizer, A.KNOWLEDGE_BASE,
                            intent_threshold=skill_threshold, answer_threshold=0.1, max_length=cfg["max_length"],
                            qa_max_length=cfg["qa_max_length"], stride=cfg["qa_stride"], device=device)
    messages = ["hello", "what data does day four use", "who published squad", "recommend me a movie",
                "is this review positive", "book me a table for two", "bye"]
    t = time.perf_counter()
    result["replies"] = [{"message": m, **{k: v for k, v in assistant.reply(m).to_dict().items()
                                           if k in ("intent", "confidence", "text")}} for m in messages]
    result["reply_ms_mean"] = 1000 * (time.perf_counter() - t) / len(messages)
    result["published"] = {"CLINC150 in-scope acc (BERT, Larson et al. 2019)": "~96-97",
                           "SQuAD v1.1 dev EM/F1 distilbert-base-cased-distilled-squad": [79.6, 87.0]}
    result["script_seconds"] = time.perf_counter() - start
    write_json(out_path, result)


def fit_seconds(fr):
    return fr.seconds


if __name__ == "__main__":
    main()
