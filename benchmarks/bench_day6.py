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
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from applied_mlx import app  # noqa: E402

CHAT_MIX = ("recommend me something like Star Wars", "how does this review sound: a gripping, beautiful film",
            "what will the load be tomorrow", "what is distilbert?")


def percentile(values, q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; values need not be sorted."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def time_ms(fn, repeats: int) -> list[float]:
    """Wall times of ``fn()`` in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return times


def sample_image(components: app.Components) -> object:
    """A picture to classify: a hymenoptera photo from the mirror when there is one, else a drawn square."""
    import os

    mirror = os.environ.get("APPLIED_MLX_MIRROR", "")
    found = sorted(Path(mirror).glob("hymenoptera/hymenoptera_data/val/bees/*.jpg")) if mirror else []
    if found:
        return found[0]
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (224, 224), "black")
    ImageDraw.Draw(img).rectangle([60, 60, 160, 160], fill="white")
    return img


def flows(components: app.Components) -> dict:
    """Flow name -> a no-argument call of it, for the components that are available."""
    calls = {}
    for message, name in zip(CHAT_MIX, ("chat -> Day 1 recommend", "chat -> Day 5 sentiment",
                                         "chat -> Day 4 forecast", "chat -> Day 3 QA")):
        calls[name] = lambda m=message: app.chat(components, m)
    calls["chat -> greeting (Day 3 only)"] = lambda: app.chat(components, "hello")
    if components.available("image_classifier"):
        image = sample_image(components)
        calls["image -> Day 2 label + Grad-CAM + words"] = lambda: app.classify_image(components, image)
    if components.available("forecaster"):
        calls["dashboard: Day 4 forecast vs actual (24 h, plot)"] = lambda: app.forecast_vs_actual(components, 24)
    if components.available("recommender"):
        calls["dashboard: Day 1 top-10 + Day 5 review"] = lambda: app.user_dashboard(
            components, 42, 10, "a wonderful film")
    return calls


def bench_flows(components: app.Components, repeats: int) -> None:
    print(f"\n| flow (in process, {repeats} calls) | median ms | p95 ms |\n|---|---|---|")
    for name, call in flows(components).items():
        times = time_ms(call, repeats)
        print(f"| {name} | {statistics.median(times):.1f} | {percentile(times, 95):.1f} |")


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
        print(f"  latency p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, max {max(ms):.0f} ms")
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
