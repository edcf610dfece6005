"""Shared helpers for the GPU drivers: environment facts, timing, JSON output, a logging batch wrapper."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

T0 = time.perf_counter()


def log(*args):
    print(f"[{time.perf_counter() - T0:7.1f}s]", *args, flush=True)


def environment() -> dict:
    import torch
    import transformers

    info = {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "cuda_available": torch.cuda.is_available(),
            "hostname_cpu_count": os.cpu_count(),
            "profile": os.environ.get("APPLIED_MLX_PROFILE"),
            "mirror": os.environ.get("APPLIED_MLX_MIRROR")}
    if torch.cuda.is_available():
        info["device_name"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
        info["bf16"] = torch.cuda.is_bf16_supported()
    else:
        info["device_name"] = "cpu (dry run)"
    return info


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating,)):
        obj = float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return _clean(obj.to_dict())
    return obj


def write_json(path, obj) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_clean(obj), indent=2))
    tmp.replace(path)
    log("wrote", path)


def history_records(result) -> list[dict]:
    h = result.history.reset_index()
    return [{k: (float(v) if isinstance(v, (float, np.floating)) else int(v) if isinstance(v, (int, np.integer)) else v)
             for k, v in row.items()} for row in h.to_dict(orient="records")]


class LoggedLoader:
    """Wrap a loader: same batches and length, and a log line every ``every`` batches with the rate."""

    def __init__(self, loader, name: str, every: int = 500):
        self.loader, self.name, self.every = loader, name, every
        self.batch_sampler = getattr(loader, "batch_sampler", None)
        self.dataset = getattr(loader, "dataset", None)
        self.epoch = 0

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.epoch += 1
        t = time.perf_counter()
        for i, batch in enumerate(self.loader, 1):
            yield batch
            if i % self.every == 0:
                dt = time.perf_counter() - t
                log(f"{self.name} epoch {self.epoch}: {i}/{len(self)} batches, {1000 * dt / i:.1f} ms/batch")
        log(f"{self.name} epoch {self.epoch} done: {len(self)} batches in {time.perf_counter() - t:.1f} s")


def out_dir() -> Path:
    return Path(os.environ.get("RESULTS_DIR", "/tmp/gpu_results"))
