"""Day 2 benchmark: ImageClassifier single-image latency and batch throughput, per backbone.

    python benchmarks/bench_day2.py

The weights are random (speed does not depend on their values), so this needs no download. Each
backbone (and input size, see CASES) is timed with one view and with test-time flipping (the image and
its mirror image).
On CUDA the classifier runs channels_last with fp16 autocast. Speeds are machine-dependent and,
on a shared CPU, noisy: compare backbones within one run.
"""

from __future__ import annotations

import os
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from applied_mlx import vision
from applied_mlx.env import median_seconds

# (backbone, crop): each backbone at its weights' 224 pixels, and the stand-in also at the 320 pixels
# that the Day 2 notebook chose for it by cross-validation on the training images
CASES = [("resnet18", 224), ("efficientnet_lite0", 224), ("efficientnet_lite0", 320)]


def main(batch: int = 32, repeats: int = 5):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads, device {device}")
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (375, 500, 3), dtype=np.uint8))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.jpg"
        photo.save(path)
        for backbone, crop in CASES:
            model = vision.TransferNet(backbone, 2, pretrained=False)
            art = vision.save_classifier(Path(tmp) / f"{backbone}_{crop}", model, ["ants", "bees"],
                                         vision.Preprocessing.for_backbone(backbone, crop=crop))
            for flip in (False, True):  # one view, then the image averaged with its mirror (test_time_flip)
                clf = vision.ImageClassifier.load(art, device=device, batch_size=batch, test_time_flip=flip)
                single = median_seconds(partial(clf.predict, path), repeats)
                many = median_seconds(partial(clf.predict, [photo] * batch), max(2, repeats // 2))
                explain = median_seconds(partial(clf.explain, photo), repeats)
                views = "image + mirror" if flip else "one view"
                print(f"{backbone:<18} {crop:>4} px {views:<14} one image from a file {single * 1000:7.1f} ms | "
                      f"batch of {batch}: {batch / many:6.1f} images/s | explain {explain * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
