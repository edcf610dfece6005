"""Loading the five components: where each day's artifact folder is, its state, its headline numbers.

Nothing here imports torch, transformers or gradio: a component's class is imported by its loader, on
first use. A component that is missing, damaged or fails to load is recorded in its status (with the
notebook to run), never raised at the app: one broken folder must not stop the others.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Raised by an interpreter that is stopping: never turned into a reply. Everything else is (a tokenizer's
# PanicException from Rust derives from BaseException, not Exception).
FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit)
log = logging.getLogger("applied_mlx.app")


def _load_recommender(path: Path):
    from ..recsys import Recommender

    return Recommender.load(path)


def _load_image_classifier(path: Path):
    from ..vision import ImageClassifier

    return ImageClassifier.load(path)


def _load_assistant(path: Path):
    from ..assistant import Assistant

    return Assistant.load(path)


def _load_forecaster(path: Path):
    from ..forecasting import Forecaster

    return Forecaster.load(path)


def _load_sentiment(path: Path):
    from ..sentiment import SentimentClassifier

    return SentimentClassifier.load(path)


# Day 6's sizes per profile: how many timed calls of each flow the latency table takes.
SETTINGS = {"smoke": {"repeats": 3}, "quick": {"repeats": 20}, "full": {"repeats": 20}}


def settings(profile: str) -> dict:
    """A copy of Day 6's sizes for ``profile`` (smoke, quick or full)."""
    if profile not in SETTINGS:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(SETTINGS)}")
    return dict(SETTINGS[profile])


@dataclass(frozen=True)
class ComponentSpec:
    """Where a day's component lives and how to load it.

    loader: artifact folder -> the inference object (the day's ``<Class>.load``).
    metrics: (label, dotted path in metrics.json) pairs shown in the status; a path ending in
        ``*`` takes every top-level key with that prefix (the forecaster's per-horizon MSE).
    """

    key: str
    day: str
    notebook: str
    title: str
    loader: Callable[[Path], object]
    metrics: tuple[tuple[str, str], ...] = ()

    @property
    def notebook_path(self) -> str:
        return f"{self.day}/{self.notebook}"

    def load(self, path: Path):
        """The inference object saved in ``path``."""
        return self.loader(path)


SPECS = {s.key: s for s in (
    ComponentSpec("recommender", "Day1_Recommendation", "recommendation.ipynb", "Day 1 recommender", _load_recommender,
                  (("nDCG@10", "ndcg@10"), ("MAP", "map"), ("RMSE", "rmse"),
                   ("most-popular nDCG@10", "baseline_popular_ndcg"))),
    ComponentSpec("image_classifier", "Day2_ImageClassification", "image_classification.ipynb",
                  "Day 2 image classifier", _load_image_classifier,
                  (("val accuracy", "accuracy"), ("backbone", "backbone"))),
    ComponentSpec("assistant", "Day3_Chatbot", "chatbot.ipynb", "Day 3 assistant", _load_assistant,
                  (("skill accuracy", "skills.in_scope_accuracy"),
                   ("CLINC150 in-scope acc.", "intent.in_scope_accuracy"), ("QA F1", "qa.f1"))),
    ComponentSpec("forecaster", "Day4_TimeSeries", "time_series.ipynb", "Day 4 forecaster", _load_forecaster,
                  (("forecaster test MSE", "forecaster_mse_h*"), ("LSTM test MSE", "lstm_mse_h*"))),
    ComponentSpec("sentiment", "Day5_Sentiment", "sentiment.ipynb", "Day 5 sentiment", _load_sentiment,
                  (("dev accuracy", "dev.accuracy"), ("ECE (calibrated)", "calibration.ece_after"))),
)}


UNTRAINED = "an untrained stand-in, its answers mean nothing"


class ComponentUnavailable(ValueError):
    """A flow needs a component that is missing or could not be loaded; the message says what to run."""


def find_artifact_dir(day: str, root: str | os.PathLike | None = None) -> Path:
    """The artifact folder of ``day``: ``<root>/<day>`` if a root is given or ``APPLIED_MLX_ARTIFACTS`` is
    set; else the first existing of ``artifact_dir(day)`` (the working directory), ``../<day>/artifacts``
    (a notebook in its day folder) and ``<repository>/<day>/artifacts``; else the first of these."""
    from ..artifacts import ARTIFACTS_VAR, artifact_dir

    root = root if root is not None else os.environ.get(ARTIFACTS_VAR, "").strip() or None
    if root is not None:
        return Path(root).expanduser() / day
    candidates = [artifact_dir(day), Path.cwd().parent / day / "artifacts", REPO_ROOT / day / "artifacts"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def _lookup(metrics: dict, path: str):
    if path.endswith("*"):
        found = {k: v for k, v in metrics.items() if isinstance(k, str) and k.startswith(path[:-1])}
        return found or None
    value = metrics
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dict):  # {"lstm_mse_h96": 0.37, ...} -> "H=96 0.370"
        digits = {k: "".join(ch for ch in k if ch.isdigit()) for k in value}
        return ", ".join(f"H={digits[k]} {_fmt(v)}" for k, v in value.items())
    return str(value)


def key_metrics(spec: ComponentSpec, metrics) -> dict[str, str]:
    """The spec's headline numbers found in ``metrics`` (absent ones left out), formatted; {} for anything
    but a dict (a damaged metrics.json shows no numbers rather than stopping the app)."""
    if not isinstance(metrics, dict):
        return {}
    found = {label: _lookup(metrics, path) for label, path in spec.metrics}
    return {label: _fmt(v) for label, v in found.items() if v is not None}


def describe_error(error: BaseException) -> str:
    """An exception in one line: its message, prefixed by its type unless it is one of ours."""
    from ..artifacts import ArtifactError

    text = " ".join(str(error).split()) or "(no message)"
    return text if isinstance(error, (ArtifactError, ComponentUnavailable)) else f"{type(error).__name__}: {text}"


@dataclass
class ComponentStatus:
    """One component's state: ``"not loaded"`` (found, not yet opened), ``"loaded"``, ``"missing"``,
    ``"incompatible"`` or ``"no data"`` (loaded, but the data it serves from could not be read); its
    metrics and config once read; the error and, where the notebook is not the fix, what is."""

    spec: ComponentSpec
    path: Path
    state: str = "not loaded"
    metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    fix: str = ""

    @property
    def available(self) -> bool:
        return self.state in ("loaded", "not loaded")

    @property
    def remedy(self) -> str:
        return self.fix or (f"run `{self.spec.notebook_path}` (with `APPLIED_MLX_PROFILE=smoke` it takes seconds) "
                            f"to train and save it, or point `APPLIED_MLX_ARTIFACTS` at a folder holding "
                            f"`{self.spec.day}/`")

    def message(self) -> str:
        """One markdown line: what this component is and how it stands."""
        head = f"**{self.spec.title}** ({self.spec.day})"
        if self.available:
            numbers = key_metrics(self.spec, self.metrics)
            facts = ", ".join(f"{k} {v}" for k, v in numbers.items())
            profile = self.config.get("profile") or self.metrics.get("profile")
            extra = f" [{profile} profile]" if profile else ""
            if profile == "smoke":  # a tiny model trained for seconds on made-up data: say so wherever it shows
                extra = f" [{profile} profile: {UNTRAINED}]"
            when = f", loaded in {self.seconds:.1f} s" if self.state == "loaded" else ""
            return f"{head}: {self.state}{when}{extra}" + (f": {facts}" if facts else "")
        return f"{head}: **{self.state}**: {self.error.rstrip('.')}. To fix: {self.remedy}."

    def fail(self, state: str, error: BaseException | str, fix: str = "") -> None:
        """Record that this component cannot serve: its new state, the error in one line, and the fix."""
        self.state, self.fix = state, fix
        self.error = error if isinstance(error, str) else describe_error(error)


class _Failed:
    """A remembered failure of ``Components.cached``: raised again, not retried."""

    def __init__(self, error: BaseException):
        self.error = error


class Components:
    """The five components, found at construction and each loaded on first use (thread-safe).

    root: a folder holding ``Day1_Recommendation/`` ... ``Day5_Sentiment/`` (default: see
        ``find_artifact_dir``). keys: which components to consider (default all five).
    """

    def __init__(self, root: str | os.PathLike | None = None, keys=None):
        self.root = root
        self._objects: dict[str, object] = {}
        self._locks = {k: threading.Lock() for k in SPECS}
        self._cache: dict[str, object] = {}
        self._cache_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self.statuses = {k: self._probe(SPECS[k]) for k in (keys or SPECS)}
        self._stamps = {k: _stamp(s.path) for k, s in self.statuses.items()}

    def refresh(self) -> list[str]:
        """Pick up components saved (or saved again) since they were found: a component whose ``config.json``
        appeared or changed is probed afresh and loaded on its next use. Cheap (one ``stat`` per component),
        so it runs on every request; returns the keys that changed."""
        changed = []
        with self._refresh_lock:
            for key, status in list(self.statuses.items()):
                stamp = _stamp(status.path)
                if stamp == self._stamps.get(key):
                    continue
                with self._locks[key]:
                    fresh = self._probe(status.spec)
                    self._objects.pop(key, None)
                    self.statuses[key] = fresh
                    self._stamps[key] = stamp
                with self._cache_lock:  # data derived from the old component (its series, say) goes too
                    self._cache.clear()
                log.info("%s: %s", status.spec.title, "found again" if fresh.available else fresh.state)
                changed.append(key)
        return changed

    def _probe(self, spec: ComponentSpec) -> ComponentStatus:
        """Read the config and metrics only (cheap): enough to show the status before loading.

        Whatever the reading raises (a damaged file, a bug in a loader) becomes this component's error."""
        from ..artifacts import load_artifact

        status = ComponentStatus(spec, find_artifact_dir(spec.day, self.root))
        try:
            art = load_artifact(status.path)
            for name, value in (("config.json", art.config), ("metrics.json", art.metrics)):
                if not isinstance(value, dict):  # the numbers and settings are looked up by key
                    raise ValueError(f"{status.path / name} holds a JSON {type(value).__name__}, not an object")
            status.metrics, status.config = art.metrics, art.config
        except FATAL:
            raise
        except BaseException as e:  # noqa: BLE001  (recorded and shown; the other components carry on)
            status.fail("missing" if not status.path.is_dir() else "incompatible", e)
        return status

    def get(self, key: str):
        """The loaded inference object; ``ComponentUnavailable`` (a ValueError) saying what to run if it
        is missing or fails to load."""
        if key not in SPECS:
            raise ValueError(f"unknown component {key!r}; one of {', '.join(SPECS)}")
        self.refresh()
        status = self.statuses.get(key)
        if status is None:
            raise ComponentUnavailable(f"{SPECS[key].title} is not part of this app")
        with self._locks[key]:
            if key not in self._objects and status.available:
                self._load(status)
        if key not in self._objects:
            raise ComponentUnavailable(status.message())
        return self._objects[key]

    def _load(self, status: ComponentStatus) -> None:
        start = time.perf_counter()
        try:
            self._objects[status.spec.key] = status.spec.load(status.path)
            status.state = "loaded"
        except FATAL:
            raise
        except BaseException as e:  # noqa: BLE001  (a shape mismatch, an OSError, a panic: report, never crash)
            log.warning("%s could not be loaded from %s: %s", status.spec.title, status.path, describe_error(e))
            status.fail("incompatible", e)
        status.seconds = time.perf_counter() - start

    def load_all(self) -> Components:
        """Load every available component now (a notebook or a server start); return self."""
        for key, status in self.statuses.items():
            if status.available:
                try:
                    self.get(key)
                except ComponentUnavailable:
                    pass  # recorded in the status
        return self

    def provide(self, key: str, obj) -> None:
        """Use ``obj`` as the loaded component ``key``: a model trained in this session, say, instead of its
        saved folder."""
        if key not in SPECS:
            raise ValueError(f"unknown component {key!r}; one of {', '.join(SPECS)}")
        status = self.statuses.setdefault(key, ComponentStatus(SPECS[key], Path("<provided>")))
        with self._locks[key]:
            self._objects[key] = obj
            status.state, status.error, status.fix = "loaded", "", ""

    def available(self, key: str) -> bool:
        """True when the component was found (and, if loaded already, loaded without error)."""
        self.refresh()
        return key in self.statuses and self.statuses[key].available

    def cached(self, name: str, make):
        """``make()`` once per name (the Day 4 series, say), kept for later calls; a failure is kept too
        and raised again, so a broken source is not read again on every request."""
        with self._cache_lock:
            if name not in self._cache:
                try:
                    self._cache[name] = make()
                except Exception as e:
                    self._cache[name] = _Failed(e)
            value = self._cache[name]
        if isinstance(value, _Failed):
            raise value.error.with_traceback(None)  # a fresh traceback: no chain growing per request
        return value

    def report(self) -> str:
        """A markdown list: one line per component (see ``ComponentStatus.message``)."""
        self.refresh()
        return "\n".join(f"- {s.message()}" for s in self.statuses.values())


def _stamp(path: Path):
    """When the artifact's ``config.json`` was last written (None when there is none): it changes when a
    component is saved, because saving replaces the whole folder."""
    try:
        st = (Path(path) / "config.json").stat()
    except (OSError, ValueError):
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)


def load_components(root: str | os.PathLike | None = None, keys=None) -> Components:
    """Find and load every component now; the statuses say what is loaded and what is missing."""
    return Components(root, keys).load_all()
