"""Day 6 benchmark: end-to-end latency per flow, and a load test of the chat on loopback.

    python benchmarks/bench_day6.py [--artifacts ROOT] [--requests 200] [--deadline 300]

1. Per flow, in process (the functions the app calls, models loaded, after one warm-up call):
   median and p95 over ``--repeats`` calls.
2. The app served on 127.0.0.1; ``--requests`` chat messages sent at once through gradio_client (one
   thread per request, a mix of the four component routes), bounded by ``--deadline`` seconds:
   errors, p50/p95/max latency from submission to answer, throughput. Exits 1 on any error or a
   request unfinished at the deadline.

Artifacts: ``--artifacts`` (a folder of Day*/ folders), else ``$APPLIED_MLX_ARTIFACTS``, else the day
folders. Speeds depend on the machine; the shared 2-core development CPU is noisy.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import sys
import time
from pathlib import Path

from applied_mlx import app

CHAT_MIX = tuple(app.EXAMPLE_MESSAGES.values())


def sample_image():
    """A hymenoptera photo from the mirror when there is one, else None (the flows draw a square)."""
    mirror = os.environ.get("APPLIED_MLX_MIRROR", "")
    found = sorted(Path(mirror).glob("hymenoptera/hymenoptera_data/val/bees/*.jpg")) if mirror else []
    return found[0] if found else None


def bench_flows(components: app.Components, repeats: int) -> None:
    print(f"\n| flow (in process, {repeats} calls) | median ms | p95 ms |\n|---|---|---|")
    for row in app.flow_latency(components, repeats, sample_image()):
        print(f"| {row['flow']} | {row['median_ms']:.1f} | {row['p95_ms']:.1f} |")


def bench_load(components: app.Components, n: int, deadline: float) -> int:
    """Serve the app, send ``n`` chat requests at once, report; return the number of failures."""
    from gradio_client import Client

    demo = app.build_demo(components)
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    client = Client(demo.local_url, verbose=False)

    def one(i: int) -> tuple[float, str]:
        start = time.perf_counter()
        reply = client.predict(CHAT_MIX[i % len(CHAT_MIX)], api_name="/chat")
        return time.perf_counter() - start, reply

    latencies, errors = [], []
    start = time.perf_counter()
    pool = cf.ThreadPoolExecutor(max_workers=n)
    try:
        futures = [pool.submit(one, i) for i in range(n)]
        done, pending = cf.wait(futures, timeout=deadline)
        for f in done:
            try:
                seconds, reply = f.result()
                (latencies if "route:" in reply else errors).append(seconds if "route:" in reply else reply[:200])
            except Exception as e:  # noqa: BLE001  (every failure is counted and shown)
                errors.append(f"{type(e).__name__}: {e}")
        wall = time.perf_counter() - start
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        demo.close()
    print(f"\nload: {n} concurrent chat requests on 127.0.0.1 (queue concurrency 4), deadline {deadline:.0f} s")
    print(f"  answered {len(latencies)}, errors {len(errors)}, unfinished {len(pending)}, wall {wall:.1f} s, "
          f"{len(latencies) / wall:.1f} requests/s")
    if latencies:
        ms = [1000 * s for s in latencies]
        print(f"  latency p50 {app.percentile(ms, 50):.0f} ms, p95 {app.percentile(ms, 95):.0f} ms, "
              f"max {max(ms):.0f} ms")
    for e in errors[:5]:
        print("  error:", e)
    return len(errors) + len(pending)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default=None, help="a folder of Day*/ artifact folders")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds allowed for the load test")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    import torch

    components = app.load_components(args.artifacts)
    print(components.report())
    print(f"torch threads={torch.get_num_threads()}")
    bench_flows(components, args.repeats)
    return 1 if bench_load(components, args.requests, args.deadline) else 0


if __name__ == "__main__":
    sys.exit(main())
