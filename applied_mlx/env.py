"""Where the code runs: the profile (smoke | quick | full), the device, seeding, Colab.

One switch, ``APPLIED_MLX_PROFILE``, sizes every notebook:

- ``smoke``: tiny generated data and tiny random models, seconds per notebook (CI).
- ``quick``: the real data (or a stated subset) and real pretrained weights, minutes on a CPU.
- ``full``: the reference protocol of docs/REFERENCES.md, for a GPU.

Without the variable the profile is ``full`` when CUDA is available and ``quick`` otherwise.
"""

from __future__ import annotations

import os
import platform
import random
import sys

PROFILES = ("smoke", "quick", "full")
PROFILE_VAR = "APPLIED_MLX_PROFILE"


def in_colab() -> bool:
    """True inside Google Colab (the ``google.colab`` module is loaded there)."""
    return "google.colab" in sys.modules


IN_COLAB = in_colab()


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def get_profile(profile: str | None = None) -> str:
    """Return the profile to run: ``profile`` if given, else ``$APPLIED_MLX_PROFILE``, else by device.

    Raises ValueError for a name that is not one of smoke, quick, full.
    """
    value = profile if profile is not None else os.environ.get(PROFILE_VAR, "").strip()
    if not value:
        return "full" if _cuda_available() else "quick"
    value = value.lower()
    if value not in PROFILES:
        raise ValueError(
            f"unknown profile {value!r} (from {'the argument' if profile is not None else PROFILE_VAR}); "
            f"use one of {', '.join(PROFILES)}"
        )
    return value


def get_device(device: str | None = None):
    """Return a ``torch.device``: the one asked for, else CUDA, else Apple MPS, else the CPU.

    Raises ValueError when CUDA is asked for and not available.
    """
    import torch

    if device is not None:
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for but CUDA is not available; use 'cpu'")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python, NumPy and torch (all devices); return the seed.

    deterministic: also ask torch for deterministic kernels (warn, not fail, where one has
    none) and turn off cuDNN autotuning. cuDNN LSTMs stay non-bit-exact on GPUs regardless.
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA too
    os.environ["PYTHONHASHSEED"] = str(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        # cuBLAS needs this for deterministic matmuls on CUDA >= 10.2.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return seed


def summary(profile: str | None = None, device=None, **extra) -> str:
    """One line for the top of a notebook: profile, device, library versions, and ``extra`` items."""
    import torch

    profile = get_profile(profile)
    device = get_device() if device is None else device
    dev = str(device)
    if getattr(device, "type", str(device)) == "cuda" and torch.cuda.is_available():
        dev += f" ({torch.cuda.get_device_name(0)})"
    parts = [
        f"profile={profile}",
        f"device={dev}",
        f"torch={torch.__version__}",
        f"python={platform.python_version()}",
    ]
    if IN_COLAB:
        parts.append("colab")
    parts += [f"{k}={v}" for k, v in extra.items()]
    return " | ".join(parts)


def print_summary(profile: str | None = None, device=None, **extra) -> str:
    """Print ``summary(...)`` and return it."""
    line = summary(profile, device, **extra)
    print(line)
    return line


def timed_calls(fn, repeats: int = 5) -> list[float]:
    """Wall times in seconds of ``repeats`` calls of ``fn()``, after one warm-up call (lazy setup, caches)."""
    import time

    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_seconds(fn, repeats: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after one warm-up call (lazy setup, caches).

    For benchmarks: the median shrugs off the odd slow call on a shared machine; compare ratios
    taken in one run rather than absolute times taken on different days.
    """
    import statistics

    return statistics.median(timed_calls(fn, repeats))
