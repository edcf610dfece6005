"""Day 2, judged on the TRAINING images only: at what input resolution should the frozen backbone see the photos?

    APPLIED_MLX_MIRROR=... TORCH_HOME=... python studies/day2/resolution_cv.py [--phase2] CROP [CROP ...]

A network trained with random-resized crops sees objects larger in training than in a centre crop at
the same size, so it often does better when tested at a somewhat higher resolution than it was trained at
(Touvron et al., "Fixing the train-test resolution discrepancy", NeurIPS 2019). EfficientNet-Lite0 was
trained at 224. Here the backbone is frozen and its features feed the new head, so the question is which
resolution gives the head the best features: each CROP (resize = CROP * 8/7, then the centre crop, as
`Preprocessing.for_backbone(..., crop=CROP)`) is scored by 4-fold cross-validation x seeds 0-1-2 of the
frozen phase (30 epochs, lr 1e-3) with test-time flipping, the same folds as the notebook's; with
``--phase2`` also of the notebook's phase 2 (last block, 3 epochs, lr 2e-4, plain + one augmented view).
The validation set is never read. Results are merged into studies/day2/resolution_cv.json.

The rule, fixed before it was run: a resolution replaces 224 only if its mean paired gain over 224 is
larger than one standard error of that gain, in phase 2 (the component's phase).

Committed runs (2026-12-01, 2-core CPU; frozen phase / phase 2, image + mirror; gain over 224 and its SE):
224: 0.9399 / 0.9372; 256: 0.9631 / 0.9440 (+0.0068, 0.0024); 288: 0.9658 / 0.9536 (+0.0164, 0.0049), in one
run of ~12 min; then 320 (~6 min): 0.9508 / 0.9645 (+0.0273, 0.0051), phase 2 one view 0.9631. 320 was added
because phase 2 was still rising at 288. The notebook uses 320 for the stand-in.
"""
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from applied_mlx import vision
from applied_mlx.data import fetch
from applied_mlx.metrics import softmax

args = sys.argv[1:]
phase2 = "--phase2" in args
crops = [int(a) for a in args if a != "--phase2"] or [224, 256, 288]
torch.set_num_threads(2)
root = fetch("hymenoptera")
model = vision.TransferNet("efficientnet_lite0", 2, pretrained=True)
model.set_trainable("head")
logits = lambda m, A: vision.extract_features(m, A, part="top", progress=False)[0]
res = {}
for crop in crops:
    t0 = time.perf_counter()
    pre = vision.Preprocessing.for_backbone("efficientnet_lite0", crop=crop)
    train = vision.read_image_folder(root / "train", pre.resize)
    st = lambda images, tf: vision.extract_features(model, vision.ImageDataset(images, tf), part="stem",
                                                    progress=False)
    H, y = st(train, pre.eval_transform())
    Hm, _ = st(train, pre.mirror_transform())
    if phase2:
        torch.manual_seed(0)
        Ha, _ = st(train, pre.train_transform())
    X, Xm = (vision.extract_features(model, A, part="top_embed", progress=False)[0] for A in (H, Hm))
    extract_s = time.perf_counter() - t0
    folds = np.array_split(np.random.default_rng(0).permutation(len(y)), 4)
    one, flip, last, last_one = [], [], [], []
    for seed in (0, 1, 2):
        for held in folds:
            rest = np.setdiff1d(np.arange(len(y)), held)
            vision.train_head(model, X[rest], y[rest], num_epochs=30, lr=1e-3, seed=seed, progress=False)
            with torch.no_grad():
                l1, l2 = (model.head.eval()(A[held]) for A in (X, Xm))
            truth = y[held].numpy()
            one.append(float((softmax(l1.numpy(), axis=1).argmax(1) == truth).mean()))
            flip.append(float((vision.flip_averaged_proba(l1, l2).argmax(1) == truth).mean()))
            if phase2:
                tuned = copy.deepcopy(model)
                vision.fine_tune_last_block(tuned, torch.cat([H[rest], Ha[rest]]), torch.cat([y[rest], y[rest]]),
                                            num_epochs=3, lr=2e-4, seed=seed, progress=False)
                l1, l2 = logits(tuned, H[held]), logits(tuned, Hm[held])
                last_one.append(float((softmax(l1.numpy(), axis=1).argmax(1) == truth).mean()))
                last.append(float((vision.flip_averaged_proba(l1, l2).argmax(1) == truth).mean()))
    res[str(crop)] = {"resize": pre.resize, "frozen one view": one, "frozen image + mirror": flip,
                      **({"phase 2 one view": last_one, "phase 2 image + mirror": last} if phase2 else {}),
                      "seconds": time.perf_counter() - t0, "extract_seconds": extract_s}
    print(crop, {k: round(float(np.mean(v)), 4) for k, v in res[str(crop)].items() if isinstance(v, list)},
          f"{time.perf_counter() - t0:.0f} s (features {extract_s:.0f} s)", flush=True)

if "224" in res:
    for key in ("frozen image + mirror", "phase 2 image + mirror"):
        if key not in res["224"]:
            continue
        base = np.array(res["224"][key])
        for crop, r in res.items():
            if crop != "224" and key in r:
                d = np.array(r[key]) - base
                print(f"{key}: {crop} vs 224: gain {d.mean():+.4f}, SE {d.std(ddof=1) / np.sqrt(len(d)):.4f}")
out = Path(__file__).with_suffix(".json")
saved = json.loads(out.read_text()) if out.exists() else {}
saved.update(res)
out.write_text(json.dumps(saved, indent=1) + "\n")
