"""Day 6 load test: the app as users start it, many chats at once, its latency and its memory over time.

    python benchmarks/bench_app_load.py [--artifacts ROOT] [--requests 200] [--rounds 3] [--deadline 300]

Starts ``python -m applied_mlx.app`` on 127.0.0.1 (a free port; nothing leaves the machine), waits for its
URL, sends one chat of each kind to warm it up, then ``--rounds`` rounds of ``--requests`` chat messages sent
at once through Gradio's HTTP API (``/gradio_api/call/chat``; a mix of the component routes). Reports per
round the errors, p50/p95/max
latency from submission to answer and the throughput; and the server process's resident memory (RSS) after
each round. The first round fills the caches and the allocator's pools, so the memory growth per 1,000
requests is measured from the end of round 1 to the end of the last round.

Exits 1 on any error (an exception, a reply without its route, a request that failed inside the app) or a
request unfinished at the deadline. Artifacts: ``--artifacts``, else ``$APPLIED_MLX_ARTIFACTS``, else the day
folders. The server runs with one torch thread (``OMP_NUM_THREADS=1``) unless the variable is set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAT_MIX = ("recommend me something like Star Wars", "how does this review sound: a gripping, beautiful film",
            "what will the load be tomorrow", "what is distilbert?", "show me movies for user 7", "hello")
FAILED = "the request failed inside the app"


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MiB (Linux /proc, else psutil; None if neither is there)."""
    status = Path(f"/proc/{pid}/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process(pid).memory_info().rss / 2 ** 20


def start_app(artifacts: str | None, timeout: float = 300) -> tuple[subprocess.Popen, str, list[str]]:
    """``python -m applied_mlx.app`` on a free port: (the process, its URL, the status lines it printed)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.setdefault("OMP_NUM_THREADS", "1")  # on a small CPU more threads per request only queue
    args = [sys.executable, "-m", "applied_mlx.app", "--port", str(free_port()), "--no-browser"]
    server = subprocess.Popen(args + (["--artifacts", artifacts] if artifacts else []), cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line and server.poll() is not None:
            break
        if line.startswith("Running on local URL: "):
            return server, line.split(": ", 1)[1].strip(), [s for s in lines if s.startswith("- ")]
        lines.append(line.rstrip())
    server.kill()
    raise RuntimeError("the app did not start:\n" + "\n".join(lines[-30:]))


async def one_chat(http, url: str, message: str) -> tuple[float, str]:
    """One chat through Gradio's HTTP API (POST the message, then read the answer from the event stream):
    (seconds from submission to answer, the reply)."""
    start = time.perf_counter()
    posted = await http.post(f"{url}gradio_api/call/chat", json={"data": [message]})
    posted.raise_for_status()
    event = None
    async with http.stream("GET", f"{url}gradio_api/call/chat/{posted.json()['event_id']}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                event = line[len("event: "):].strip()
            elif line.startswith("data: ") and event == "error":
                raise RuntimeError(f"the app answered with an error event: {line[len('data: '):][:200]}")
            elif line.startswith("data: ") and event == "complete":
                return time.perf_counter() - start, json.loads(line[len("data: "):])[0]
    raise RuntimeError("the event stream ended without an answer")


async def warm_up(url: str, deadline: float) -> None:
    """One chat of each kind, one after the other: every route loads its component before anything is measured."""
    import httpx

    async with httpx.AsyncClient(timeout=deadline) as http:
        for message in CHAT_MIX:
            await one_chat(http, url, message)


async def one_round(url: str, n: int, deadline: float) -> dict:
    """``n`` chats sent at once; {"latencies" (s), "errors", "unfinished", "wall" (s)}.

    One asyncio loop and one connection per request: the client costs little next to the app, so the
    latencies are the app's (gradio_client runs a thread and a polling loop per request, which on a small
    CPU competes with the server it measures)."""
    import httpx

    latencies, errors = [], []
    # a fresh connection per request: a kept-alive one the server has just timed out fails on reuse, a client
    # artefact that would be counted against the app
    limits = httpx.Limits(max_connections=2 * n + 10, max_keepalive_connections=0)
    start = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=deadline) as http:
        tasks = [asyncio.create_task(one_chat(http, url, CHAT_MIX[i % len(CHAT_MIX)])) for i in range(n)]
        done, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            task.cancel()
        for task in done:
            try:
                seconds, reply = task.result()
            except Exception as e:  # noqa: BLE001  (every failure is counted and shown)
                errors.append(f"{type(e).__name__}: {e}")
                continue
            if "route:" not in reply or FAILED in reply:
                errors.append(reply[:200])
            else:
                latencies.append(seconds)
    return {"latencies": latencies, "errors": errors, "unfinished": len(pending), "wall": time.perf_counter() - start}


def report_round(i: int, n: int, result: dict, rss: float | None) -> None:
    from applied_mlx.app.flows import percentile

    ms = [1000 * s for s in result["latencies"]]
    line = (f"round {i}: {n} at once: answered {len(ms)}, errors {len(result['errors'])}, unfinished "
            f"{result['unfinished']}, wall {result['wall']:.1f} s, {len(ms) / result['wall']:.1f} requests/s")
    if ms:
        line += (f"; latency p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
                 f"max {max(ms):.0f} ms")
    print(line + (f"; server RSS {rss:.0f} MiB" if rss is not None else ""), flush=True)
    for e in result["errors"][:5]:
        print("  error:", e)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", default=None, help="a folder of Day*/ artifact folders")
    parser.add_argument("--requests", type=int, default=200, help="chats sent at once per round (at most 500)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (at least 2: the first one warms up)")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds allowed per round")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 500 or not 2 <= args.rounds <= 10:
        parser.error("--requests must be 1-500 and --rounds 2-10: the test is bounded in count and time")
    server, url, statuses = start_app(args.artifacts)
    failures = 0
    try:
        print("\n".join(statuses))
        print(f"serving on {url} (pid {server.pid}); chat mix: {len(CHAT_MIX)} messages, torch threads "
              f"{os.environ.get('OMP_NUM_THREADS', '1')}", flush=True)
        asyncio.run(warm_up(url, args.deadline))
        rss = [rss_mb(server.pid)]
        print(f"after warm-up: server RSS {rss[0]:.0f} MiB" if rss[0] is not None else "RSS not measurable here")
        for i in range(1, args.rounds + 1):
            result = asyncio.run(one_round(url, args.requests, args.deadline))
            rss.append(rss_mb(server.pid))
            report_round(i, args.requests, result, rss[-1])
            failures += len(result["errors"]) + result["unfinished"]
        if rss[1] is not None:
            measured = args.requests * (args.rounds - 1)
            growth = (rss[-1] - rss[1]) / measured * 1000
            print(f"memory: {rss[1]:.0f} MiB after round 1, {rss[-1]:.0f} MiB after round {args.rounds}: "
                  f"{growth:+.1f} MiB per 1,000 requests (over {measured} requests)")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"total: {failures} errors or unfinished requests")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
