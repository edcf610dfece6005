"""Foundation benchmarks: import cost, vectorised ranking metrics, a mirror hit.

    python benchmarks/bench_foundation.py

Speeds are machine-dependent: compare ratios within one run, not numbers across machines.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np


def import_seconds(module: str, repeats: int = 5) -> float:
    """Median time of ``import module`` in a fresh interpreter, timed inside it."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
            for _ in range(repeats)]
    return statistics.median(runs)


def ranking_seconds(n_users=943, n_items=1682, k=10, repeats=20) -> float:
    """Median time of ranking_metrics over a MovieLens-sized top-10 (25 relevant items per user)."""
    from applied_mlx.env import median_seconds
    from applied_mlx.metrics import ranking_metrics

    rng = np.random.default_rng(0)
    recs = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    relevant = [set(rng.choice(n_items, size=25, replace=False).tolist()) for _ in range(n_users)]
    return median_seconds(lambda: ranking_metrics(recs, relevant, k=k), repeats)


def main():
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"import applied_mlx                  {import_seconds('applied_mlx') * 1000:7.1f} ms")
    print(f"import torch (for scale)            {import_seconds('torch') * 1000:7.1f} ms")
    print(f"ranking_metrics, 943 users, top-10  {ranking_seconds() * 1000:7.1f} ms (six metrics + coverage)")
    if os.environ.get("APPLIED_MLX_MIRROR"):
        from applied_mlx.data import fetch

        for name in ("ett-h1", "hymenoptera"):
            t = time.perf_counter()
            fetch(name)
            label = f"fetch({name!r}) from the mirror"
            print(f"{label:<36}{(time.perf_counter() - t) * 1000:7.1f} ms (checksum or tree digest verified)")


if __name__ == "__main__":
    main()
