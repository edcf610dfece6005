"""The app's view of the background build: start one (``start_build``), read its status file, and say per
component what the user waits for (``build_table``, ``banner``).

The build itself is ``python -m applied_mlx.build`` (see ``applied_mlx.build``), one process for all the missing
components, fastest first; it outlives the app, and a lock keeps a second one from starting while it runs.
Nothing here imports torch or gradio.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from .. import build
from .components import SPECS, Components

BUILD_NICENESS = 10  # how much lower the background build's CPU priority is than the app's


def start_build(root=None, profile: str = "quick", log_dir=None) -> subprocess.Popen | None:
    """Start ``python -m applied_mlx.build --profile <profile>`` in the background for the components missing
    under ``root`` (see ``build.artifacts_root``); None when a build is already running or nothing is missing.

    The process runs in its own session, so it goes on training when the app is closed; its output goes to
    ``<log_dir>/build.log`` (default ``runs/<time>/``), beside one log per component.
    """
    if build.build_running(root):
        print(f"A build is already running; its status: {build.status_path(root)}", flush=True)
        return None
    todo = build.missing(root, profile)
    if not todo:
        return None
    logs = Path(log_dir) if log_dir else Path.cwd() / "runs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    logs.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "applied_mlx.build", "--profile", profile, "--log-dir", str(logs)]
    if root is not None:
        command += ["--root", str(root)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # the build imports the very package this app runs from (a checkout first on the path)
    package_parent = str(Path(build.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_parent, *filter(None, [os.environ.get("PYTHONPATH")])])
    with open(logs / "build.log", "a", encoding="utf-8") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, start_new_session=True,
                                   preexec_fn=_lower_priority if hasattr(os, "nice") else None)
    estimates = [build.estimate_seconds(d, profile) for d in todo]
    total = None if None in estimates else sum(estimates)
    print(f"Training {len(todo)} missing component(s) in the background ({profile} profile, fastest first"
          + (f", about {total / 60:.0f} min in all on a 2-core CPU" if total else "")
          + f"): {', '.join(todo)}. Logs: {logs}. Each one appears in the app when it is saved; the training goes on "
          f"when the app is closed (to stop it: kill {process.pid}).", flush=True)
    return process


def _lower_priority() -> None:
    """Run the build at a lower CPU priority than the app (in the child, before it starts): the page and its
    answers stay quick while the training takes what is left."""
    try:
        os.nice(BUILD_NICENESS)
    except OSError:
        pass


def _bar(fraction: float, width: int = 12) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "▰" * filled + "▱" * (width - filled) + f" {fraction:.0%}"


def _time_left(entry: dict, updated: str | None) -> str:
    eta = entry.get("eta_s")
    if not isinstance(eta, (int, float)):
        return ""
    try:
        since = time.time() - dt.datetime.fromisoformat(updated).timestamp() if updated else 0.0
    except (TypeError, ValueError):
        since = 0.0
    left = max(eta - since, 0.0)
    return "under a minute left" if left < 60 else f"~{left / 60:.0f} min left"


def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def build_row(day: str, entry: dict | None, components: Components, updated: str | None = None) -> list[str]:
    """One row of the build table: component, state, progress, details."""
    spec = next(s for s in SPECS.values() if s.day == day)
    status = components.statuses.get(spec.key)
    loaded = status is not None and status.available
    state = (entry or {}).get("state") or ("ready" if loaded else "missing")
    if loaded and state in ("waiting", "failed", "stopped"):
        state = "ready (older)" if state != "waiting" else "ready"  # a previous component serves meanwhile
    progress, detail = "", ""
    if state == "training":
        step, total = entry.get("step") or 0, entry.get("total") or 0
        progress = _bar(step / total) if total else ""
        done = f"{step} of {total} steps done" if total else "starting"
        detail = "; ".join(filter(None, [entry.get("stage") or "", done, _time_left(entry, updated)]))
    elif state == "waiting":
        eta = entry.get("eta_s")
        detail = f"queued; takes {eta / 60:.0f} min or so" if isinstance(eta, (int, float)) and eta >= 60 else "queued"
    elif state in ("failed", "stopped", "ready (older)"):
        detail = f"{entry.get('error') or 'the build stopped'}; retry: `{entry.get('retry')}`"
    elif state == "missing":
        detail = f"not built; to build it: `python -m applied_mlx.build {day}`"
    if state.startswith("ready"):
        metric = entry.get("metric") if entry else None
        numbers = ", ".join(f"{k} {v}" for k, v in list(_key_numbers(status).items())[:1]) if loaded else ""
        detail = "; ".join(filter(None, [numbers or metric or "", detail]))
        profile = (status.config.get("profile") if loaded else None) or (entry or {}).get("profile")
        if profile == "smoke":
            detail += " (smoke profile: untrained stand-in)"
    return [spec.title, f"**{state}**", progress, _cell(detail)]


def _key_numbers(status) -> dict[str, str]:
    from .components import key_metrics

    return key_metrics(status.spec, status.metrics)


def build_table(components: Components, status: dict | None) -> str:
    """The Status tab's build section (markdown), or "" when no build has run for this root."""
    if not status:
        return ""
    entries = status.get("components", {})
    rows = [build_row(day, entries.get(day), components, status.get("updated")) for day in build.DAYS
            if day in entries or not components.available(next(s.key for s in SPECS.values() if s.day == day))]
    if not rows:
        return ""
    head = ("### Training in the background" if status.get("alive") else "### The last build")
    profile = status.get("profile")
    lines = [f"{head} ({profile} profile)" if profile else head, "",
             "| component | state | progress | details |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if not status.get("alive"):
        lines += ["", "No build is running now. `make demo` starts one for whatever is still to build."]
    return "\n".join(lines)


def banner(components: Components, key: str, status: dict | None) -> str:
    """The warning above a tab whose component is not there: training (how far, how long), waiting, failed (why,
    the retry command), or the component's own message; "" when it serves."""
    comp = components.statuses.get(key)
    if comp is not None and comp.available:
        profile = comp.config.get("profile") or comp.metrics.get("profile")
        return f"ℹ️ {comp.spec.title}: smoke profile, an untrained stand-in." if profile == "smoke" else ""
    entry = (status or {}).get("components", {}).get(SPECS[key].day)
    if entry:
        row = build_row(SPECS[key].day, entry, components, (status or {}).get("updated"))
        if entry.get("state") in ("training", "waiting"):
            return f"⏳ **{row[0]}** is being trained in the background ({row[1]} {row[2]}): {row[3]}. It appears " \
                   "here when it is saved."
        return f"⚠️ **{row[0]}**: {row[1]}: {row[3]}"
    return f"⚠️ {comp.message()}" if comp is not None else ""
