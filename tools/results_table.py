"""Fill the README's results table from every day's metrics.json (never by hand).

    python tools/results_table.py            # print the table built from Day*/artifacts/metrics.json
    python tools/results_table.py --write    # replace the block between the README's results markers
    python tools/results_table.py --root DIR # read DIR/DayN_*/metrics.json instead (APPLIED_MLX_ARTIFACTS layout)

Each row's *numbers* come from the day's metrics.json (and its config.json for the profile and any
stand-in); the words that are not data (the metric's protocol, the published reference, the model's
description) live in ``ROWS`` below. Comparisons that the data decide ("the LSTM does not beat it") are
computed, not written. A day without a metrics.json keeps the row the README has for it (or gets a
"not run yet" row). Only the text between
``START`` and ``END`` in the README is replaced; the caveats around it are left alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START = "<!-- results:start (tools/results_table.py fills this block from each day's metrics.json) -->"
END = "<!-- results:end -->"
HEADER = "| day | metric | ours | reference | profile, model |\n|---|---|---|---|---|"


def f3(x) -> str:
    return f"{x:.3f}"


def pct(x) -> str:
    return f"{100 * x:.1f}%"


def beats(ours: float, theirs: float, lower_is_better: bool = False) -> bool:
    return ours < theirs if lower_is_better else ours > theirs


def day1(m: dict, c: dict) -> str:
    text = f"ranking model {f3(m['ndcg@10'])} / {f3(m['map'])}"
    if "rmse" in m:
        text += f"; rating model RMSE {f3(m['rmse'])}"
    if "tabular_ndcg" in m:
        text += f"; tabular network {f3(m['tabular_ndcg'])} / {f3(m['tabular_map'])}, RMSE {f3(m['tabular_rmse'])}"
    base = []
    if "baseline_ease_ndcg" in m:  # the strong linear peer, its lambda chosen on validation
        base.append(f"EASE (λ = {m['ease_lambda']:g}, chosen on validation) nDCG {f3(m['baseline_ease_ndcg'])}")
    base += [f"item-cosine CF nDCG {f3(m['baseline_itemknn_ndcg'])}"] if "baseline_itemknn_ndcg" in m else []
    base += [f"most popular {f3(m['baseline_popular_ndcg'])}"] if "baseline_popular_ndcg" in m else []
    return text + (f" ({', '.join(base)})" if base else "")


def day2(m: dict, c: dict) -> str:
    def spread(s: dict) -> str:
        return f"{f3(s['mean'])} ± {f3(s['std'])}"

    every = m.get("final_phase") == "every layer"
    key = "all_layers_accuracy" if every else "last_block_accuracy"
    tuned, frozen = m.get(key) or {}, m.get("frozen_accuracy") or {}
    if m.get("test_time_flip") and m.get(key + "_flip"):  # what the saved component does, then one view
        flip, frozen_flip = m[key + "_flip"], m.get("frozen_accuracy_flip") or {}
        text = (f"{spread(flip)} with {'every layer' if every else 'the last block'} fine-tuned and test-time "
                f"flipping (one view {spread(tuned)})")
        if frozen:
            text += f"; frozen backbone + new head {spread(frozen_flip or frozen)}" + (
                f" (one view {spread(frozen)})" if frozen_flip else "")
    else:
        text = f"{spread(tuned)} with the last block fine-tuned" if tuned else f"{f3(m['accuracy'])}"
        if frozen:
            text += f" (frozen backbone + new head {spread(frozen)})"
    n = len(tuned.get("values", []))
    return text + (f", {n} seeds" if n else "")


def day3(m: dict, c: dict) -> str:
    intent, qa = m["intent"], m["qa"]
    text = f"{pct(intent['in_scope_accuracy'])} / {pct(intent['oos_recall'])}"
    base = intent.get("baseline_tfidf_logreg")
    if base:
        wins = beats(intent["in_scope_accuracy"], base["in_scope_accuracy"])
        verdict = "beats it" if wins else "does **not** beat it"
        text += (f" (TF-IDF + LR on the same subset {pct(base['in_scope_accuracy'])} / {pct(base['oos_recall'])}: "
                 f"the model {verdict} on in-scope accuracy)")
    text += f"; {qa['exact_match']:.1f} / {qa['f1']:.1f} ({qa['eval_questions']} questions)"
    trained = [f"intents trained on {intent['train_sentences']:,} sentences"] if "train_sentences" in intent else []
    if "train_questions" in qa:
        trained.append(f"QA fine-tuned on {qa['train_questions']:,} questions from other articles")
    text += f"; {', '.join(trained)}" if trained else ""
    chat = m.get("chat")
    if chat:  # the chat itself, on the held-out sets of Day3_Chatbot/data
        text += (f"; the chat on held-out sets: routing {f3(chat['routing_accuracy'])} (341 messages), questions "
                 f"reaching QA {f3(chat['qa_route_rate'])}, retrieval recall@1 / @3 {f3(chat['retrieval_recall_at_1'])}"
                 f" / {f3(chat['retrieval_recall_at_3'])}, end-to-end EM / F1 {chat['em']:.1f} / "
                 f"{chat['f1']:.1f} (111 questions)")
    return text


HIGHWAY = "LSTM residual on a linear highway"
BLEND = "LSTM + linear blend"


def day4(m: dict, c: dict) -> str:
    results = m["results"]
    horizons = sorted(results["LSTM"], key=int)
    mses = lambda name: " / ".join(f3(results[name][h]["mse"]) for h in horizons)
    text = f"LSTM {mses('LSTM')}"
    losses = m.get("training_loss", {})
    if set(losses.values()) - {"mse"}:  # the loss of each horizon, chosen on validation
        text += f" (trained on the {' / '.join(losses[h].upper() for h in horizons if h in losses)})"
    linear = results.get("linear (least squares)")
    if not linear:
        return text

    def verdict(name: str, label: str) -> str:
        # 1e-6: a model that falls back to the line (the highway's epoch 0) differs from it by float32 noise only
        wins = [h for h in horizons if beats(results[name][h]["mse"], linear[h]["mse"] - 1e-6, lower_is_better=True)]
        return (f"{label} does not beat it" if not wins else f"{label} beats it at every horizon"
                if len(wins) == len(horizons) else f"{label} beats it at H={', '.join(wins)} only")

    text += f"; our linear baseline {mses('linear (least squares)')} ({verdict('LSTM', 'the LSTM')})"
    if HIGHWAY in results:
        text += f"; {HIGHWAY} {mses(HIGHWAY)} ({verdict(HIGHWAY, 'it')})"
    if BLEND in results:
        saved = " (the saved forecaster)" if m.get("saved_model") == BLEND else ""
        text += f"; {BLEND}{saved} {mses(BLEND)} ({verdict(BLEND, 'it')})"
    return text


def day5(m: dict, c: dict) -> str:
    dev = m["dev"]
    extra = []
    if "int8" in m:
        variant = m["int8"].get("activations")  # per_token / per_tensor; older metrics name none
        extra.append(f"int8{' ' + variant.replace('_', '-') if variant else ''} {f3(m['int8']['accuracy'])}")
    if "baseline_tfidf_lr" in m:
        extra.append(f"TF-IDF + LR {f3(m['baseline_tfidf_lr']['accuracy'])}")
    return f"{f3(dev['accuracy'])}, F1 {f3(dev['f1'])}, AUC {f3(dev['roc_auc'])}" + (
        f" ({'; '.join(extra)})" if extra else "")


def day6(m: dict, c: dict) -> str:
    r = m["routing_accuracy"]
    text = (f"routing {f3(r['combined (app)'])} (keywords only {f3(r['keywords only'])}, "
            f"Day 3 classifier only {f3(r.get('classifier only', float('nan')))}) on {m['routing_messages']} messages")
    latency = m.get("latency_ms", {})
    groups = {}
    for flow, ms in latency.items():
        groups.setdefault(flow.split()[0].rstrip(":"), []).append(ms)
    if groups:
        spans = [f"{g} {min(v):.0f} ms" if len(v) == 1 else f"{g} {min(v):.0f}-{max(v):.0f} ms"
                 for g, v in groups.items()]
        text += "; median latency per flow: " + ", ".join(spans)
    return text


def stand_in(m: dict, c: dict) -> str | None:
    """The stand-in model's name when the run used one, from the metrics or config."""
    if m.get("stand_in") or c.get("stand_in"):
        return m.get("backbone") or c.get("model_args", {}).get("backbone")
    if m.get("stand_in_encoder") or c.get("standin_for"):
        return (c.get("base_model") or c.get("intent_model") or "").split("/")[-1]
    return None


@dataclass(frozen=True)
class Row:
    """The words of one day's row; ``ours`` turns (metrics, config) into the numbers column."""

    day: str
    number: str
    metric: str
    reference: str
    model: str
    ours: Callable[[dict, dict], str]


ROWS = (
    Row("Day1_Recommendation", "1", "nDCG@10 / MAP / RMSE, MovieLens 100k (recommenders protocol, 75/25 per user)",
        "BiVAE 0.475 / 0.146, BPR 0.442 / 0.132; SVD++ 0.919 (Surprise, 5-fold)",
        "Mult-DAE-style history encoder with an item-item path + embedding/feature rating model, CPU", day1),
    Row("Day2_ImageClassification", "2", "val accuracy, hymenoptera (153 images, mean ± sd over seeds)",
        "tutorial 0.934-0.961 (ResNet18)", "CPU", day2),
    Row("Day3_Chatbot", "3", "CLINC150 in-scope accuracy / out-of-scope recall (full test); EM / F1, SQuAD v1.1 dev "
        "(held-out articles)", "BERT ~96-97% in-scope (Larson et al. 2019); DistilBERT-SQuAD 79.6 / 87.0",
        "CPU", day3),
    Row("Day4_TimeSeries", "4", "test MSE at H=96 / 192 / 336 / 720, ETTh1 (L=336, every test window)",
        "PatchTST/64 0.370 / 0.413 / 0.422 / 0.447; DLinear 0.375 / 0.405 / 0.439 / 0.472",
        "RevIN + channel-independent segment LSTM (hidden 64), CPU", day4),
    Row("Day5_Sentiment", "5", "dev accuracy, SST-2 (872)", "DistilBERT 0.913; BERT-Small 0.897 / BERT-Mini 0.859",
        "CPU, 20k-sentence subset, 2 epochs", day5),
    Row("Day6_Multimodal", "6",
        "routing accuracy of the chat (Day 3's held-out routing set); end-to-end latency per flow",
        "none published for an integrated demo (docs/REFERENCES.md)", "the five components above, one thread, CPU",
        day6),
)


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def day_folder(day: str, root: Path | None) -> Path:
    """Where a day's metrics.json lives: ``root/<day>`` (the APPLIED_MLX_ARTIFACTS layout) or ``<day>/artifacts``."""
    return root / day if root is not None else ROOT / day / "artifacts"


def row_text(row: Row, root: Path | None) -> str:
    """The markdown row for one day: numbers from its metrics.json, or "not run yet"."""
    folder = day_folder(row.day, root)
    metrics, config = read_json(folder / "metrics.json"), read_json(folder / "config.json") or {}
    if metrics is None:
        return f"| {row.number} | {row.metric} | not run yet | {row.reference} | |"
    profile = metrics.get("profile") or config.get("profile") or "?"
    standin = stand_in(metrics, config)
    standin_text = f"**{standin} stand-in** (the default weights are not available offline), " if standin else ""
    model = f"{profile}, {standin_text}{row.model}"
    return f"| {row.number} | {row.metric} | {row.ours(metrics, config)} | {row.reference} | {model} |"


def table(root: Path | None = None, current: str = "") -> str:
    """The whole results table (header and one row per day).

    current: the README's table as it stands; a day with no metrics.json here keeps its row from it (the
    artifacts are not committed, so a machine that re-ran one day must not blank the others).
    """
    kept = {line.split("|")[1].strip(): line for line in current.splitlines()
            if line.startswith("| ") and "not run yet" not in line}
    rows = []
    for r in ROWS:
        line = row_text(r, root)
        rows.append(kept.get(r.number, line) if "| not run yet |" in line else line)
    return "\n".join([HEADER, *rows])


def current_block(text: str) -> str:
    """The README's text between START and END ("" without markers)."""
    if START not in text or END not in text:
        return ""
    return text.split(START, 1)[1].split(END, 1)[0]


def replace_block(text: str, block: str) -> str:
    """``text`` with everything between START and END replaced by ``block``; ValueError without markers."""
    if START not in text or END not in text:
        raise ValueError(f"the README has no results markers; put {START!r} and {END!r} around the table")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}\n{END}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="update the README in place")
    parser.add_argument("--root", type=Path, default=None, help="a folder of DayN_*/metrics.json")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    readme = args.readme.read_text(encoding="utf-8") if args.readme.is_file() else ""
    block = table(args.root, current_block(readme))
    if not args.write:
        print(block)
        return 0
    args.readme.write_text(replace_block(readme, block), encoding="utf-8")
    print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
