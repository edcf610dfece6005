"""Day 5: where a batch-1 prediction of the int8 (per-token) sentiment classifier spends its time.

    python studies/day5/int8_profile.py [artifact_dir]

One thread, one 22-token sentence: the median latency of ``predict_proba`` for fp32, int8 per-token
(``Int8Linear``, the component's default) and int8 per-tensor (``quantize_dynamic``), then torch.profiler's
top operators of the model's forward pass for fp32 and per-token int8. Three runs on 2026-12-01, the
2-core CPU: fp32 14.5-15.2 ms; per-token 7.7-8.8 ms (x1.73-x1.88); per-tensor 6.2-6.4 ms (x2.27-x2.42).
``aten::_int_mm`` is 50-51% of the per-token forward; the per-token scaling steps (abs, amax, mul,
round, casts, bias) are most of the rest. Medians of one sentence, so noisier than bench_day5.py.
"""
import statistics
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

from applied_mlx import sentiment as S
from applied_mlx.artifacts import artifact_dir

torch.set_num_threads(1)
folder = sys.argv[1] if len(sys.argv) > 1 else artifact_dir("Day5_Sentiment")
TEXT = ["the plot was dull and the acting wooden , but the score is lovely and the photography breathtaking ."]
variants = {"fp32": {}, "int8 per-token": {"quantize": True},
            "int8 per-tensor": {"quantize": True, "int8_activations": "per_tensor"}}
clfs = {name: S.SentimentClassifier.load(folder, **kw) for name, kw in variants.items()}


def median_ms(clf, n=200):
    clf.predict_proba(TEXT)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        clf.predict_proba(TEXT)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


ms = {name: median_ms(clf) for name, clf in clfs.items()}
print(" | ".join(f"{name} {v:.2f} ms (x{ms['fp32'] / v:.2f})" for name, v in ms.items()))
enc = clfs["fp32"].tokenizer(TEXT, return_tensors="pt")
print("tokens:", enc["input_ids"].shape[1])
with torch.no_grad():
    for name in ("fp32", "int8 per-token"):
        model = clfs[name].model
        for _ in range(5):
            model(**enc)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(50):
                model(**enc)
        print(f"\n{name}, 50 forward passes")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
