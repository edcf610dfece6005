"""Day 6 benchmark: end-to-end latency per flow, in process.

    python benchmarks/bench_day6.py [--artifacts ROOT] [--repeats 20]

Per flow (the functions the app calls, models loaded, after one warm-up call): median and p95 over
``--repeats`` calls. The load test of the served app (many chats at once, memory over time) is
``benchmarks/bench_app_load.py``.

Artifacts: ``--artifacts`` (a folder of Day*/ folders), else ``$APPLIED_MLX_ARTIFACTS``, else the day
folders. Speeds depend on the machine; the shared 2-core development CPU is noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from applied_mlx import app


def sample_image():
    """A hymenoptera photo from the mirror when there is one, else None (the flows draw a square)."""
    mirror = os.environ.get("APPLIED_MLX_MIRROR", "")
    found = sorted(Path(mirror).glob("hymenoptera/hymenoptera_data/val/bees/*.jpg")) if mirror else []
    return found[0] if found else None


def bench_flows(components: app.Components, repeats: int) -> None:
    print(f"\n| flow (in process, {repeats} calls) | median ms | p95 ms |\n|---|---|---|")
    for row in app.flow_latency(components, repeats, sample_image()):
        print(f"| {row['flow']} | {row['median_ms']:.1f} | {row['p95_ms']:.1f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default=None, help="a folder of Day*/ artifact folders")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    import torch

    components = app.load_components(args.artifacts)
    print(components.report())
    print(f"torch threads={torch.get_num_threads()}")
    bench_flows(components, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
