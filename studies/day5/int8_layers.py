"""Day 5: which linear layers cost accuracy when the sentiment model is dynamically quantized to int8?

    python studies/day5/int8_layers.py [artifact_dir] [--threads 2] [--out results.json]

Quantizes one group of ``nn.Linear`` layers at a time (the same projection in every encoder layer, e.g.
all ``intermediate.dense``), everything but that group, and one encoder layer at a time, and scores each
variant on the held-out slice of SST-2 *train* that the notebook keeps for model selection (never dev):
accuracy, the share of labels equal to fp32's, and the mean absolute change of the logits. Needs the Day 5
artifact and SST-2 (``APPLIED_MLX_MIRROR``). The README's "which layers cost the accuracy" comes from this.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from applied_mlx import sentiment as S
from applied_mlx.artifacts import artifact_dir


def group_of(name: str) -> str:
    """``bert.encoder.layer.3.intermediate.dense`` -> ``encoder.intermediate.dense``."""
    return re.sub(r"layer\.\d+\.", "", name).split("bert.")[-1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact", nargs="?", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    clf = S.SentimentClassifier.load(args.artifact or artifact_dir("Day5_Sentiment"), device="cpu")
    cfg, model, tokenizer = clf.config, clf.model.eval(), clf.tokenizer
    train_all, _ = S.load_sst2()
    held = train_all.sample(frac=1.0, random_state=cfg["seed"]).reset_index(drop=True).iloc[:cfg["n_val"]]
    texts, labels = held.sentence.tolist(), held.label.values

    def logits(m):
        return S.predict_logits(m, tokenizer, texts, max_length=clf.max_length, batch_size=64)

    fp32 = logits(model)
    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]

    def score(names):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qconfig = {n: per_channel_dynamic_qconfig for n in names}
            q = quantize_dynamic(copy.deepcopy(model), qconfig, dtype=torch.qint8)
        out = logits(q)
        return {"accuracy": float(np.mean(out.argmax(1) == labels)),
                "same_label": float(np.mean(out.argmax(1) == fp32.argmax(1))),
                "logit_mae": float(np.abs(out - fp32).mean())}

    results = {"held_out": len(texts), "fp32_accuracy": float(np.mean(fp32.argmax(1) == labels)),
               "everything": score(linears)}
    for g in sorted(set(map(group_of, linears))):
        results[f"only {g}"] = score([n for n in linears if group_of(n) == g])
        results[f"all but {g}"] = score([n for n in linears if group_of(n) != g])
    for i in range(model.config.num_hidden_layers):
        results[f"only layer {i}"] = score([n for n in linears if f"layer.{i}." in n])
    print(f"held-out training sentences: {len(texts)}, fp32 accuracy {results['fp32_accuracy']:.4f}")
    print("| int8 layers | accuracy | same label as fp32 | mean abs logit change |")
    print("|---|---|---|---|")
    for name, r in results.items():
        if isinstance(r, dict):
            print(f"| {name} | {r['accuracy']:.4f} | {r['same_label']:.1%} | {r['logit_mae']:.3f} |")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
