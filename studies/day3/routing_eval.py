"""Day 3 routing and QA, end to end, on the held-out sets of Day3_Chatbot/data.

    python studies/day3/routing_eval.py ARTIFACT_DIR [--keep-intent] [--out results.json]

ARTIFACT_DIR: a saved Day 3 assistant (the QA reader is taken from it). Without --keep-intent the chat's skill
classifier is rebuilt with ``fit_skill_head`` (the stand-in encoder frozen, a logistic-regression head on
``skill_splits`` with CLINC150's intents mapped to skills) and its out-of-scope threshold chosen on the
validation split; with it, the artifact's own classifier and threshold are kept. Either way the answer
threshold is chosen on ``qa_validation_rows`` (generated questions), never on the held-out sets, and the
package's current knowledge base is used. Needs APPLIED_MLX_MIRROR for CLINC150 and the encoder.
"""

import argparse
import json

import torch

from applied_mlx import assistant as A


def skill_classifier(seed: int = 0):
    """(model, tokenizer, threshold): the frozen-encoder skill classifier and its validation threshold."""
    from transformers import AutoTokenizer

    from applied_mlx.data import fetch, resolve_model

    cfg = A.settings("quick")
    source = resolve_model(cfg["intent_model"])
    tok = AutoTokenizer.from_pretrained(source)
    clinc = A.load_clinc150(fetch("clinc150"))
    oos = [t for t, y in clinc["train"] if y == A.OOS][:cfg["skill_oos_examples"]]
    skills = A.skill_splits(oos, held_out=cfg["skill_held_out"], seed=seed, clinc=clinc["train"])
    model, threshold, scores = A.train_skill_classifier(source, tok, skills, cfg["max_length"], seed=seed,
                                                        device="cpu")
    print(f"skill data: {len(skills['train'])} train / {len(skills['val'])} val; threshold {threshold:.2f};",
          {k: round(v, 3) for k, v in scores.items()})
    return model, tok, threshold


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact")
    parser.add_argument("--keep-intent", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = A.Assistant.load(args.artifact, device="cpu")
    if args.keep_intent:
        model, tok, threshold = base.intent_model, base.intent_tokenizer, base.intent_threshold
    else:
        model, tok, threshold = skill_classifier()
    a = A.Assistant(model, tok, base.qa_model, base.qa_tokenizer, A.KNOWLEDGE_BASE, intent_threshold=threshold,
                    answer_threshold=0.0, max_length=base.max_length, qa_max_length=base.qa_max_length,
                    stride=base.stride, device="cpu")
    A.tune_answer_threshold(a)
    routing = A.evaluate_routing(a, A.load_routing_set())
    qa = A.evaluate_qa(a, A.load_qa_set())
    result = {"skill_threshold": threshold, "answer_threshold": a.answer_threshold,
              "routing_accuracy": round(routing["accuracy"], 4), "routing_per_skill": routing["per_skill"],
              **{k: round(v, 4) for k, v in qa.items() if k != "table"}}
    print(json.dumps(result, indent=1))
    print(routing["confusion"].to_string())
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
