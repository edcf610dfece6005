"""Train the missing components behind the Day 6 app, fastest first, with progress.

    python -m applied_mlx.build                      # every missing component, quick profile
    python -m applied_mlx.build --profile smoke      # untrained stand-ins in seconds (a working app, no quality)
    python -m applied_mlx.build Day4 --root DIR      # one component (again), into DIR/Day4_TimeSeries/

A component is built by running its day's notebook top to bottom in a fresh kernel, in the chosen profile, so
the saved component is exactly the one the lesson trains and saves (same data, settings, model, training,
evaluation and ``metrics.json``). The notebook saves atomically (``artifacts.save_artifact``): a build that
is stopped half-way leaves the previous folder or none, never half of one, and the next build starts that
component again from the top.

While it runs, the command keeps a status file (JSON, replaced atomically after every update) that the app's
Status tab reads: per component ``waiting``, ``training`` (stage, step of total, time left), ``ready`` (its key
metric) or ``failed`` (the reason and the command that retries it). One failing component is recorded and the
next one is built. Only one build runs per artifacts root at a time (a lock file held while it runs).

From Python (a notebook, say): ``missing()`` lists the components that are absent or do not load;
``build_missing()`` builds them with a progress bar; ``build(day)`` builds one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from .artifacts import ARTIFACTS_VAR, load_artifact

REPO_ROOT = Path(__file__).resolve().parents[1]
# The five component days, fastest first in the quick profile (so the app gains a component every few minutes).
DAYS = ("Day1_Recommendation", "Day4_TimeSeries", "Day2_ImageClassification", "Day5_Sentiment", "Day3_Chatbot")
# Seconds each day's notebook takes end to end on a 2-core CPU: quick as measured; smoke a rough figure (mostly
# the kernel's start and the imports).
# No figure for the full profile (sized for a GPU; it depends on the GPU).
ESTIMATED_SECONDS = {
    "quick": {"Day1_Recommendation": 54, "Day4_TimeSeries": 109, "Day2_ImageClassification": 384,
              "Day5_Sentiment": 507, "Day3_Chatbot": 891},
    "smoke": dict.fromkeys(DAYS, 45),
}
PROFILE_ORDER = ("smoke", "quick", "full")
STATUS_FILE = "build_status.json"
LOCK_FILE = "build.lock"
STATES = ("waiting", "training", "ready", "failed", "stopped")
_stop_requested = threading.Event()  # set by SIGTERM: the build in progress ends, and no other starts


def _on_sigterm(*_):
    _stop_requested.set()
    raise SystemExit(143)


# ---------------------------------------------------------------------------------------------- where things are
def resolve_day(name: str) -> str:
    """The day folder named by ``name``: ``"Day4_TimeSeries"``, ``"Day4"``, ``"day4"``, ``"4"`` or the component
    key (``"forecaster"``). ValueError listing the choices otherwise."""
    from .app.components import SPECS

    text = str(name).strip()
    by_key = {spec.key: spec.day for spec in SPECS.values()}
    if text in by_key:
        return by_key[text]
    for day in DAYS:
        number = day.split("_")[0][3:]
        if text.lower() in (day.lower(), day.split("_")[0].lower(), number):
            return day
    raise ValueError(f"unknown component {name!r}; use one of {', '.join(DAYS)} (or Day1 .. Day5, or "
                     f"{', '.join(by_key)})")


def artifacts_root(root: str | os.PathLike | None = None) -> Path | None:
    """The folder holding the day folders: ``root``, else ``$APPLIED_MLX_ARTIFACTS``; None means each day's own
    ``<day>/artifacts`` folder in the repository (where its notebook saves without the variable)."""
    if root is not None and str(root).strip():
        return Path(root).expanduser().resolve()
    env = os.environ.get(ARTIFACTS_VAR, "").strip()
    return Path(env).expanduser().resolve() if env else None


def component_dir(day: str, root: str | os.PathLike | None = None) -> Path:
    """Where ``day``'s component is saved: ``<root>/<day>`` (see ``artifacts_root``), else
    ``<repo>/<day>/artifacts``."""
    base = artifacts_root(root)
    return base / day if base is not None else REPO_ROOT / day / "artifacts"


def state_dir(root: str | os.PathLike | None = None) -> Path:
    """Where the status and lock files of a build live: the artifacts root, else ``<repo>/runs``."""
    base = artifacts_root(root)
    return base if base is not None else REPO_ROOT / "runs"


def status_path(root: str | os.PathLike | None = None) -> Path:
    """The default status file of builds into ``root``."""
    return state_dir(root) / STATUS_FILE


REPO_VAR = "APPLIED_MLX_REPO"  # a checkout of the repository, where the package is installed without its notebooks


def notebook_of(day: str) -> Path:
    """The day's notebook: in ``$APPLIED_MLX_REPO`` if set (Colab clones the release there), else in the checkout
    the package runs from; FileNotFoundError saying what is needed when it is in neither."""
    places = [Path(os.environ[REPO_VAR]).expanduser()] if os.environ.get(REPO_VAR, "").strip() else []
    places.append(REPO_ROOT)
    for place in places:
        found = sorted((place / day).glob("*.ipynb"))
        if found:
            return found[0]
    raise FileNotFoundError(f"no notebook in {' or '.join(str(p / day) for p in places)}: building a component runs "
                            f"its day's notebook, so it needs a checkout of the repository (git clone it and set "
                            f"{REPO_VAR} to its folder)")


def retry_command(day: str, profile: str = "quick", root: str | os.PathLike | None = None) -> str:
    """The command that builds ``day`` again."""
    parts = ["python -m applied_mlx.build", day]
    if profile != "quick":
        parts.append(f"--profile {profile}")
    if root is not None:
        parts.append(f"--root {root}")
    return " ".join(parts)


def estimate_seconds(day: str, profile: str) -> float | None:
    """The usual time of ``day``'s build in ``profile`` on a 2-core CPU (None where there is no figure)."""
    return ESTIMATED_SECONDS.get(profile, {}).get(day)


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "time unknown"
    return f"~{seconds:.0f} s" if seconds < 90 else f"~{seconds / 60:.0f} min"


# ---------------------------------------------------------------------------------------------- what is there
def saved_profile(config: dict, metrics: dict) -> str | None:
    """The profile a saved component was trained in, from its config or metrics (None if neither says)."""
    for source in (config, metrics):
        value = source.get("profile") if isinstance(source, dict) else None
        if isinstance(value, str) and value in PROFILE_ORDER:
            return value
    return None


def check_component(day: str, root: str | os.PathLike | None = None, profile: str | None = None,
                    deep: bool = False) -> str | None:
    """None when ``day``'s component is saved and usable, else why not (one line).

    profile: a component trained in a smaller profile than this (smoke when quick is asked for) counts as
        missing. deep: also load it through its inference class (slower: reads the weights).
    """
    path = component_dir(day, root)
    try:
        art = load_artifact(path)
    except (ValueError, OSError) as e:
        return " ".join(str(e).split())
    have = saved_profile(art.config, art.metrics)
    if profile is not None and have is not None and PROFILE_ORDER.index(have) < PROFILE_ORDER.index(profile):
        return f"{path} holds a {have}-profile component; the {profile} profile was asked for"
    if deep:
        from .app.components import SPECS, describe_error

        spec = next(s for s in SPECS.values() if s.day == day)
        try:
            spec.load(path)
        except Exception as e:  # noqa: BLE001  (any failure to load means: build it again)
            return describe_error(e)
    return None


def missing(root: str | os.PathLike | None = None, profile: str | None = None, deep: bool = False) -> list[str]:
    """The component days (in build order, fastest first) whose artifact is absent or does not load.

    profile: also count components trained in a smaller profile (see ``check_component``).
    deep: load each through its inference class rather than only checking its files.
    """
    return [day for day in DAYS if check_component(day, root, profile, deep) is not None]


def key_metric(day: str, metrics: dict) -> str | None:
    """The component's headline number as the app shows it (``"nDCG@10 0.412"``), or None."""
    from .app.components import SPECS, key_metrics

    spec = next(s for s in SPECS.values() if s.day == day)
    numbers = key_metrics(spec, metrics)
    if not numbers:
        return None
    label, value = next(iter(numbers.items()))
    return f"{label} {value}"


# ---------------------------------------------------------------------------------------------- one build
class BuildError(RuntimeError):
    """A component's build failed; the message says where and why."""


def _kernel_env(day: str, profile: str, root: str | os.PathLike | None) -> dict:
    env = dict(os.environ, APPLIED_MLX_PROFILE=profile, MPLBACKEND="Agg", HF_HUB_DISABLE_PROGRESS_BARS="1",
               TOKENIZERS_PARALLELISM="false", PYTHONHASHSEED=os.environ.get("PYTHONHASHSEED", "0"))
    base = artifacts_root(root)
    if base is not None:
        env[ARTIFACTS_VAR] = str(base)
    else:  # the notebook runs in its day folder and saves to ./artifacts
        env.pop(ARTIFACTS_VAR, None)
    # the kernel imports this very package (a checkout first on the path, like the one running the build)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def _headings(nb) -> list[str]:
    """For each cell, the latest ``## `` section heading at or before it (``"Training"``), "" before any."""
    current, out = "", []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    current = line[3:].strip().lstrip("0123456789. ").strip()
        out.append(current)
    return out


def _clean_stale_staging(path: Path, older_than_s: float = 60.0) -> None:
    """Remove the hidden staging folders a killed save left beside ``path`` (``.<name>-xxxx``)."""
    now = time.time()
    for leftover in path.parent.glob(f".{path.name}-*"):
        try:
            if leftover.is_dir() and now - leftover.stat().st_mtime > older_than_s:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            pass


def build(day: str, root: str | os.PathLike | None = None, profile: str = "quick",
          progress: Callable[[dict], None] | None = None, log: str | os.PathLike | None = None) -> dict:
    """Train and save one component by running its day's notebook in ``profile``; return its metrics.

    day: ``"Day1_Recommendation"`` (or ``"Day1"``, ``"recommender"``: see ``resolve_day``).
    root: the artifacts root to save into (``<root>/<day>/``; default ``$APPLIED_MLX_ARTIFACTS``, else the day's
        ``artifacts/`` folder). progress: called with ``{"day", "stage", "step", "total"}`` before each step
        (a code cell of the notebook): ``step`` of ``total`` steps are done, and ``stage`` names the section the
        next one belongs to (``"Training"``).
    log: a file to append the steps and any error to; the executed notebook is written beside it.
    Raises BuildError naming the step and the error when the notebook fails or saves no loadable component.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from .env import get_profile

    day, profile = resolve_day(day), get_profile(profile)
    notebook = notebook_of(day)
    target = component_dir(day, root)
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_staging(target)
    nb = nbformat.read(notebook, as_version=4)
    headings = _headings(nb)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    total = len(code)
    log_file = open(log, "a", encoding="utf-8") if log else None  # noqa: SIM115  (closed in finally)
    started = time.perf_counter()

    def note(text: str) -> None:
        if log_file:
            log_file.write(f"{dt.datetime.now().isoformat(timespec='seconds')} {text}\n")
            log_file.flush()

    def on_cell(cell, cell_index, **_):
        done = code.index(cell_index) if cell_index in code else 0  # code cells finished before this one
        stage = headings[cell_index] or "Setup"
        note(f"{day}: step {done + 1}/{total}: {stage}")
        if progress is not None:
            progress({"day": day, "stage": stage, "step": done, "total": total})

    note(f"{day}: building in the {profile} profile from {_shown(notebook)} into {target}")
    client = NotebookClient(nb, timeout=None, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(notebook.parent)}}, on_cell_execute=on_cell)
    try:
        try:
            # the kernel's own stderr (its start-up warnings, a crash) goes to the log, not into a caller's output
            _execute(client, env=_kernel_env(day, profile, root),
                     stderr=log_file if log_file is not None else subprocess.DEVNULL)
        except CellExecutionError as e:
            note(str(e))
            reason = _last_line(getattr(e, "ename", ""), getattr(e, "evalue", "")) or _last_line(str(e))
            raise BuildError(f"{_shown(notebook)} failed: {reason}") from None
        except Exception as e:  # a kernel that died or did not start
            note(traceback.format_exc())
            raise BuildError(f"{_shown(notebook)} could not run: {type(e).__name__}: {e}") from None
        finally:
            if log:
                try:
                    nbformat.write(nb, Path(log).with_suffix(".ipynb"))
                except Exception:  # noqa: BLE001  (the executed copy is a convenience)
                    pass
        problem = check_component(day, root)
        if problem is not None:
            raise BuildError(f"{_shown(notebook)} ran but saved no usable component: {problem}")
        metrics = load_artifact(target).metrics
        note(f"{day}: ready in {time.perf_counter() - started:.0f} s: {key_metric(day, metrics)}")
        if progress is not None:
            progress({"day": day, "stage": "saved", "step": total, "total": total})
        return metrics
    except BuildError as e:
        note(f"{day}: FAILED: {e}")
        raise
    finally:
        if log_file:
            log_file.close()


def _execute(client, **kwargs) -> None:
    """``client.execute(**kwargs)`` in a worker thread, waited for here.

    nbclient replaces the process's SIGINT/SIGTERM handlers while it runs in the main thread (it then shuts the
    kernel down and the notebook "fails"); in a worker thread it installs none, so Ctrl-C or a kill reaches this
    thread as KeyboardInterrupt/SystemExit: the kernel is killed and the stop goes on up as a stop. (Inside a
    notebook, whose thread runs an event loop already, the worker thread has a loop of its own.)
    """
    outcome = {}

    def work():
        try:
            client.execute(**kwargs)
        except BaseException as e:  # noqa: BLE001  (handed to the waiting thread)
            outcome["error"] = e

    worker = threading.Thread(target=work, name="notebook", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.5)
    except BaseException:
        _kill_kernel(client)
        raise
    if "error" in outcome:
        raise outcome["error"]


def _kill_kernel(client) -> None:
    """Kill the notebook's kernel process now (best effort; it also exits by itself when this process ends)."""
    try:
        process = getattr(getattr(client.km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            process.kill()
    except Exception:  # noqa: BLE001
        pass


def _shown(path: Path) -> str:
    """``path`` relative to the repository where it lies inside it (shorter in messages), else as it is."""
    try:
        return Path(path).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _last_line(*parts: str) -> str:
    text = ": ".join(p.strip() for p in parts if p and p.strip())
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[-1].split())[:300] if lines else ""


# ---------------------------------------------------------------------------------------------- many builds
def build_missing(root: str | os.PathLike | None = None, profile: str = "quick", days=None,
                  show_progress: bool = True) -> dict[str, dict]:
    """Build every missing component (or ``days``), fastest first; return ``{day: metrics}`` of those built.

    Prints what it will build and about how long it takes, then shows a progress bar per component. A failed
    component does not stop the others; RuntimeError listing the failures at the end.
    """
    from tqdm.auto import tqdm

    from .env import get_profile

    profile = get_profile(profile)
    todo = [resolve_day(d) for d in days] if days is not None else missing(root, profile)
    todo = [d for d in DAYS if d in todo]
    if not todo:
        if show_progress:
            print("Every component is saved: nothing to build.")
        return {}
    if show_progress:
        estimates = [estimate_seconds(d, profile) for d in todo]
        total = None if None in estimates else sum(estimates)
        print(f"Building {len(todo)} component(s) in the {profile} profile, fastest first: "
              + ", ".join(f"{d} ({_minutes(s)})" for d, s in zip(todo, estimates))
              + (f"; {_minutes(total)} in all on a 2-core CPU." if total is not None else "."))
    built, failed = {}, {}
    for day in todo:
        bar = tqdm(total=1, desc=day, disable=not show_progress, leave=True)

        def update(info, bar=bar):
            bar.total = max(info["total"], 1)
            bar.n = info["step"]
            bar.set_postfix_str(info["stage"], refresh=True)

        try:
            built[day] = build(day, root, profile, progress=update)
        except (BuildError, FileNotFoundError) as e:
            failed[day] = str(e)
        finally:
            bar.close()
    if failed:
        lines = "\n".join(f"- {d}: {why}" for d, why in failed.items())
        raise RuntimeError(f"some components were not built:\n{lines}")
    return built


# ---------------------------------------------------------------------------------------------- status file
def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def write_json_atomic(path: str | os.PathLike, data) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and ``os.replace``: a reader sees the old
    file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pid_alive(pid) -> bool:
    """True when a process with this id runs (and is not a zombie)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:  # a killed child its parent has not reaped yet still answers kill(0)
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_status(path: str | os.PathLike) -> dict | None:
    """The status a build wrote, with ``"alive"`` added (its process still runs); None when there is no readable
    file. A status whose process is gone is not trusted: its ``waiting`` and ``training`` components read
    ``stopped``, with the reason and the command that carries on."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("components"), dict):
        return None
    alive = pid_alive(data.get("pid"))
    data["alive"] = alive
    if not alive:
        for entry in data["components"].values():
            if isinstance(entry, dict) and entry.get("state") in ("waiting", "training"):
                entry["state"] = "stopped"
                entry["eta_s"] = None
                entry.setdefault("error", None)
                entry["error"] = entry["error"] or f"the build stopped (process {data.get('pid')} is not running)"
    return data


class StatusWriter:
    """The status file of one build run: every component's state, rewritten atomically on each change."""

    def __init__(self, path: str | os.PathLike, profile: str, root=None):
        self.path, self.profile, self.root = Path(path), profile, root
        self.components: dict[str, dict] = {}
        self.started_at: dict[str, float] = {}

    def entry(self, day: str, state: str, **fields) -> dict:
        base = {"state": state, "stage": "", "step": 0, "total": 0, "started": None, "eta_s": None, "metric": None,
                "error": None, "retry": retry_command(day, self.profile, self.root), "profile": self.profile}
        base.update(fields)
        self.components[day] = base
        return base

    def update(self, day: str, **fields) -> None:
        self.components[day].update(fields)
        self.write()

    def write(self) -> None:
        write_json_atomic(self.path, {"updated": now_iso(), "pid": os.getpid(), "profile": self.profile,
                                      "components": self.components})

    def progress(self, info: dict) -> None:
        """A ``build`` progress callback: stage, step/total and the time left."""
        day = info["day"]
        elapsed = time.monotonic() - self.started_at.get(day, time.monotonic())
        step, total = info["step"], info["total"]
        estimate = estimate_seconds(day, self.profile)
        if estimate is not None and elapsed < estimate:
            eta = estimate - elapsed
        elif step > 0:
            eta = elapsed * (total - step) / step
        else:
            eta = None
        self.update(day, stage=info["stage"], step=step, total=total, eta_s=None if eta is None else round(eta, 1))


# ---------------------------------------------------------------------------------------------- the lock
class BuildLock:
    """An exclusive lock on ``<state dir>/build.lock`` held while a build runs (released by the OS when the
    process ends, however it ends). ``acquire()`` is False when another live build holds it."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._file = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115  (kept open while the lock is held)
        try:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # no flock (Windows): trust the pid written in the file if it runs
            f.seek(0)
            text = f.read().strip()
            if text.isdigit() and pid_alive(int(text)) and int(text) != os.getpid():
                f.close()
                return False
        except OSError:
            f.close()
            return False
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._file = f
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def build_running(root: str | os.PathLike | None = None) -> bool:
    """True when a build into ``root`` is running now (its lock is held)."""
    lock = BuildLock(state_dir(root) / LOCK_FILE)
    if lock.acquire():
        lock.release()
        return False
    return True


# ---------------------------------------------------------------------------------------------- command line
def run(days=None, root=None, profile: str = "quick", status: str | os.PathLike | None = None,
        log_dir: str | os.PathLike | None = None) -> int:
    """Build ``days`` (default: the missing ones) in order, keeping the status file; return the exit code
    (0: all built, 1: some failed, 2: another build holds the lock)."""
    from .env import get_profile

    profile = get_profile(profile)
    root_given = root
    status_file = Path(status) if status else status_path(root)
    lock = BuildLock(state_dir(root) / LOCK_FILE)
    if not lock.acquire():
        print(f"another build into {state_dir(root)} is running; see {status_file}", flush=True)
        return 2
    try:
        todo = [resolve_day(d) for d in days] if days else missing(root, profile)
        todo = [d for d in DAYS if d in todo]
        logs = Path(log_dir) if log_dir else Path.cwd() / "runs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        logs.mkdir(parents=True, exist_ok=True)
        writer = StatusWriter(status_file, profile, root_given)
        for day in DAYS:
            if day in todo:
                writer.entry(day, "waiting", eta_s=estimate_seconds(day, profile))
            else:
                metrics = _saved_metrics(day, root)
                if metrics is None:
                    continue
                writer.entry(day, "ready", metric=key_metric(day, metrics), profile=_saved_profile_of(day, root),
                             step=1, total=1)
        writer.write()
        print(f"building {', '.join(todo) or 'nothing'} ({profile} profile); status: {status_file}; logs: {logs}",
              flush=True)
        failures = 0

        def stopped(day):  # this and the components after it: stopped, with the command that carries on
            for rest in todo[todo.index(day):]:
                writer.components[rest].update(state="stopped", eta_s=None,
                                               error="the build was stopped before this component was saved")
            writer.write()

        for day in todo:
            if _stop_requested.is_set():
                stopped(day)
                raise SystemExit(143)
            writer.started_at[day] = time.monotonic()
            writer.update(day, state="training", stage="starting", started=now_iso())
            print(f"{day}: training ...", flush=True)
            try:
                metrics = build(day, root, profile, progress=writer.progress, log=logs / f"{day}.log")
            except (KeyboardInterrupt, SystemExit):  # stopped (Ctrl-C, kill): say so, and how to carry on
                stopped(day)
                raise
            except Exception as e:
                if _stop_requested.is_set():  # the signal ended the kernel first: a stop, not a failure
                    stopped(day)
                    raise SystemExit(143) from None  # noqa: BLE001  (recorded; the next component is built)
                failures += 1
                reason = " ".join(str(e).split())
                writer.update(day, state="failed", stage="failed", eta_s=None,
                              error=f"{reason} (log: {logs / (day + '.log')})")
                print(f"{day}: FAILED: {reason}\n  retry: {retry_command(day, profile, root_given)}", flush=True)
                continue
            seconds = time.monotonic() - writer.started_at[day]
            writer.update(day, state="ready", stage=f"saved in {seconds:.0f} s", eta_s=0.0,
                          metric=key_metric(day, metrics), step=writer.components[day]["total"])
            print(f"{day}: ready in {seconds:.0f} s: {key_metric(day, metrics)}", flush=True)
        return 1 if failures else 0
    finally:
        lock.release()


def _saved_metrics(day: str, root) -> dict | None:
    if check_component(day, root) is not None:
        return None
    return load_artifact(component_dir(day, root)).metrics


def _saved_profile_of(day: str, root) -> str | None:
    try:
        art = load_artifact(component_dir(day, root))
    except (ValueError, OSError):
        return None
    return saved_profile(art.config, art.metrics)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m applied_mlx.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("days", nargs="*", metavar="DAY", help="Day1 .. Day5 or folder names (default: the missing)")
    parser.add_argument("--profile", default="quick", help="smoke | quick | full (default quick)")
    parser.add_argument("--root", default=None, help=f"artifacts root (default ${ARTIFACTS_VAR}, else each "
                                                     "day's artifacts/ folder)")
    parser.add_argument("--status", default=None, help="status file (default <root>/build_status.json)")
    parser.add_argument("--log-dir", default=None, help="folder for the logs (default runs/<time>/)")
    args = parser.parse_args(argv)
    import signal

    # a plain kill (SIGTERM) unwinds like Ctrl-C: the notebook's kernel is shut down and the status says "stopped"
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return run(args.days or None, args.root, args.profile, args.status, args.log_dir)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
