"""Day 6: one Gradio app over the five trained components, and the flows that combine them.

Three layers, each usable without the one above it:

1. **Loading** (``Components``): finds each day's artifact folder (``$APPLIED_MLX_ARTIFACTS/<day>``,
   else the day folders under the working directory or the repository), loads it through the day's
   inference class on first use, and reports per component: loaded (with its key metrics), missing
   or incompatible, with the notebook to run.
2. **Flows** (plain functions, no Gradio): ``classify_image`` (Day 2 label, probabilities, Grad-CAM
   and a sentence about them), ``chat`` (Day 3's intent routes a message to Day 1, 4, 5 or Day 3's
   own QA, and the reply says which route and why), ``forecast_vs_actual`` (Day 4 on held-out rows)
   and ``user_dashboard`` (Day 1 for a user, Day 5 on their review text).
3. **The app** (``build_demo``): Gradio Blocks with a tab per flow; ``demo`` is built at import
   (cheap: models load on first use) and ``python -m applied_mlx.app`` serves it on 127.0.0.1.

A missing component never stops the app: its tab and its chat route say which notebook to run.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ROUTE_CONFIDENCE = 0.5  # the classifier's intent stands at or above this; below it a keyword cue may decide
CHAT_RECOMMENDATIONS = 5
DEFAULT_FORECAST_HOURS = 24


# ----------------------------------------------------------------------------------- loading
@dataclass(frozen=True)
class ComponentSpec:
    """Where a day's component lives and how to load it.

    metrics: (label, dotted path in metrics.json) pairs shown in the status; a path ending in
        ``*`` takes every top-level key with that prefix (the forecaster's per-horizon MSE).
    """

    key: str
    day: str
    notebook: str
    module: str
    class_name: str
    title: str
    metrics: tuple[tuple[str, str], ...] = ()

    @property
    def notebook_path(self) -> str:
        return f"{self.day}/{self.notebook}"

    def load(self, path: Path):
        """The inference object, from ``<class>.load(path)``."""
        module = importlib.import_module(f"{__package__}.{self.module}")
        return getattr(module, self.class_name).load(path)


SPECS = {s.key: s for s in (
    ComponentSpec("recommender", "Day1_Recommendation", "recommendation.ipynb", "recsys", "Recommender",
                  "Day 1 recommender", (("nDCG@10", "ndcg@10"), ("MAP", "map"), ("RMSE", "rmse"),
                                        ("most-popular nDCG@10", "baseline_popular_ndcg"))),
    ComponentSpec("image_classifier", "Day2_ImageClassification", "image_classification.ipynb", "vision",
                  "ImageClassifier", "Day 2 image classifier",
                  (("val accuracy", "accuracy"), ("backbone", "backbone"))),
    ComponentSpec("assistant", "Day3_Chatbot", "chatbot.ipynb", "assistant", "Assistant", "Day 3 assistant",
                  (("skill accuracy", "skills.in_scope_accuracy"), ("CLINC150 in-scope acc.", "intent.in_scope_accuracy"),
                   ("QA F1", "qa.f1"))),
    ComponentSpec("forecaster", "Day4_TimeSeries", "time_series.ipynb", "forecasting", "Forecaster",
                  "Day 4 forecaster", (("forecaster test MSE", "forecaster_mse_h*"), ("LSTM test MSE", "lstm_mse_h*"))),
    ComponentSpec("sentiment", "Day5_Sentiment", "sentiment.ipynb", "sentiment", "SentimentClassifier",
                  "Day 5 sentiment", (("dev accuracy", "dev.accuracy"), ("ECE (calibrated)", "calibration.ece_after"))),
)}


class ComponentUnavailable(ValueError):
    """A flow needs a component that is missing or could not be loaded; the message says what to run."""


def find_artifact_dir(day: str, root: str | os.PathLike | None = None) -> Path:
    """The artifact folder of ``day``: ``<root>/<day>`` if a root is given or ``APPLIED_MLX_ARTIFACTS`` is
    set; else the first existing of ``artifact_dir(day)`` (the working directory), ``../<day>/artifacts``
    (a notebook in its day folder) and ``<repository>/<day>/artifacts``; else the first of these."""
    from .artifacts import ARTIFACTS_VAR, artifact_dir

    root = root if root is not None else os.environ.get(ARTIFACTS_VAR, "").strip() or None
    if root is not None:
        return Path(root).expanduser() / day
    candidates = [artifact_dir(day), Path.cwd().parent / day / "artifacts", REPO_ROOT / day / "artifacts"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def _lookup(metrics: dict, path: str):
    if path.endswith("*"):
        found = {k: v for k, v in metrics.items() if k.startswith(path[:-1])}
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


def key_metrics(spec: ComponentSpec, metrics: dict) -> dict[str, str]:
    """The spec's headline numbers found in ``metrics`` (absent ones left out), formatted."""
    found = {label: _lookup(metrics, path) for label, path in spec.metrics}
    return {label: _fmt(v) for label, v in found.items() if v is not None}


@dataclass
class ComponentStatus:
    """One component's state: ``"not loaded"`` (found, not yet opened), ``"loaded"``, ``"missing"``
    or ``"incompatible"``; its metrics and config once read; the error otherwise."""

    spec: ComponentSpec
    path: Path
    state: str = "not loaded"
    metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def available(self) -> bool:
        return self.state in ("loaded", "not loaded")

    @property
    def remedy(self) -> str:
        return (f"run `{self.spec.notebook_path}` (with `APPLIED_MLX_PROFILE=smoke` it takes seconds) "
                f"to train and save it, or point `APPLIED_MLX_ARTIFACTS` at a folder holding `{self.spec.day}/`")

    def message(self) -> str:
        """One markdown line: what this component is and how it stands."""
        head = f"**{self.spec.title}** ({self.spec.day})"
        if self.available:
            numbers = key_metrics(self.spec, self.metrics)
            facts = ", ".join(f"{k} {v}" for k, v in numbers.items())
            profile = self.config.get("profile") or self.metrics.get("profile")
            extra = f" [{profile} profile]" if profile else ""
            when = f", loaded in {self.seconds:.1f} s" if self.state == "loaded" else ""
            return f"{head}: {self.state}{when}{extra}" + (f": {facts}" if facts else "")
        return f"{head}: **{self.state}**: {self.error}. To fix: {self.remedy}."


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
        self.statuses = {k: self._probe(SPECS[k]) for k in (keys or SPECS)}

    def _probe(self, spec: ComponentSpec) -> ComponentStatus:
        """Read the config and metrics only (cheap): enough to show the status before loading."""
        from .artifacts import ArtifactError, load_artifact

        status = ComponentStatus(spec, find_artifact_dir(spec.day, self.root))
        try:
            art = load_artifact(status.path)
            status.metrics, status.config = art.metrics, art.config
        except ArtifactError as e:
            status.state = "missing" if not status.path.is_dir() else "incompatible"
            status.error = str(e)
        return status

    def get(self, key: str):
        """The loaded inference object; ``ComponentUnavailable`` (a ValueError) saying what to run if it
        is missing or fails to load."""
        if key not in SPECS:
            raise ValueError(f"unknown component {key!r}; one of {', '.join(SPECS)}")
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
        except Exception as e:  # a torch shape mismatch, a transformers OSError: report, never crash the app
            status.state, status.error = "incompatible", f"{type(e).__name__}: {e}"
        status.seconds = time.perf_counter() - start

    def load_all(self) -> "Components":
        """Load every available component now (a notebook or a server start); return self."""
        for key, status in self.statuses.items():
            if status.available:
                try:
                    self.get(key)
                except ComponentUnavailable:
                    pass  # recorded in the status
        return self

    def available(self, key: str) -> bool:
        """True when the component was found (and, if loaded already, loaded without error)."""
        return key in self.statuses and self.statuses[key].available

    def cached(self, name: str, make):
        """``make()`` once per name (the Day 4 series, say), kept for later calls."""
        with self._cache_lock:
            if name not in self._cache:
                self._cache[name] = make()
            return self._cache[name]

    def report(self) -> str:
        """A markdown list: one line per component (see ``ComponentStatus.message``)."""
        return "\n".join(f"- {s.message()}" for s in self.statuses.values())


def load_components(root: str | os.PathLike | None = None, keys=None) -> Components:
    """Find and load every component now; the statuses say what is loaded and what is missing."""
    return Components(root, keys).load_all()


# ----------------------------------------------------------------------------------- image flow
@dataclass
class ImageAnswer:
    """What the image flow returns: every class's probability (best first), the Grad-CAM overlay and
    the explanation in words."""

    label: str
    probabilities: dict[str, float]
    overlay: object  # PIL.Image
    text: str


def confidence_words(p: float) -> str:
    """How sure a probability sounds: 'very sure' (>= 0.9), 'fairly sure' (>= 0.7), 'leaning' (>= 0.5)."""
    if p >= 0.9:
        return "very sure"
    if p >= 0.7:
        return "fairly sure"
    if p >= 0.5:
        return "leaning that way, not sure"
    return "unsure"


def heatmap_region(heatmap, level: float = 0.5) -> tuple[str, float]:
    """Where the Grad-CAM evidence lies: ('upper left' ... 'centre' ..., share of the picture >= level).

    heatmap: (H, W) in [0, 1]. The place is the heat-weighted centre of the hot area in a 3 x 3 grid.
    """
    import numpy as np

    heat = np.asarray(heatmap, dtype=float)
    if heat.ndim != 2 or heat.size == 0:
        raise ValueError(f"a heatmap is a 2-D array, got shape {heat.shape}")
    hot = np.where(heat >= level, heat, 0.0)
    if hot.sum() == 0:
        return "nowhere in particular", 0.0
    rows, cols = np.indices(heat.shape)
    y = (rows * hot).sum() / hot.sum() / heat.shape[0]
    x = (cols * hot).sum() / hot.sum() / heat.shape[1]
    vertical = ("upper", "middle", "lower")[min(int(y * 3), 2)]
    horizontal = ("left", "centre", "right")[min(int(x * 3), 2)]
    place = "centre" if (vertical, horizontal) == ("middle", "centre") else f"{vertical} {horizontal}"
    return place, float((heat >= level).mean())


def describe_prediction(probabilities: dict[str, float], heatmap=None) -> str:
    """A few sentences: what the classifier sees, how sure it is, the runner-up, and where it looked.

    probabilities: label -> probability, any order; heatmap: the Grad-CAM map of the top label.
    """
    if not probabilities:
        raise ValueError("no probabilities to describe")
    ranked = sorted(probabilities.items(), key=lambda kv: -kv[1])
    (label, p), rest = ranked[0], ranked[1:]
    text = f"I see **{label}** ({p:.0%}: {confidence_words(p)})."
    if rest:
        runner, q = rest[0]
        gap = "a close call" if p - q < 0.2 else "well behind"
        text += f" The runner-up is {runner} at {q:.0%}, {gap}."
    if heatmap is not None:
        place, share = heatmap_region(heatmap)
        if share > 0:
            text += (f" The evidence for {label} lies in the {place} of the picture "
                     f"(the hot area of the Grad-CAM map covers {share:.0%} of it).")
        else:
            text += " The Grad-CAM map is flat: no region stands out as evidence."
    return text


def classify_image(components: Components, image) -> ImageAnswer:
    """Day 2 on one image (a path, a PIL image, bytes or an array): the label, every class's probability,
    Grad-CAM and its description. ValueError for no image or a file that is not an image."""
    if image is None or (isinstance(image, str) and not image.strip()):
        raise ValueError("no image given: upload a photo (JPEG, PNG, ...) first")
    classifier = components.get("image_classifier")
    explanation = classifier.explain(image)  # every class's probability and the Grad-CAM, in one pass
    probabilities = explanation.probabilities
    return ImageAnswer(label=explanation.label, probabilities=probabilities, overlay=explanation.overlay,
                       text=describe_prediction(probabilities, explanation.heatmap))


# ----------------------------------------------------------------------------------- chat: routing
ROUTES = ("recommend", "sentiment", "forecast", "question", "image")  # the skills that call a component
# Keyword cues, checked in this order: explicit phrasings that carry what the skill needs (a title,
# a text, a horizon). They decide only when the classifier is unsure or says out-of-scope.
CUES: tuple[tuple[str, str], ...] = (
    ("sentiment", r"\b(review|sentiment|how does this (sound|read|feel)|positive or negative|tone of)\b"),
    ("recommend", r"\b(recommend\w*|suggest\w*|something like|similar to|movies? like|films? like|"
                  r"what (should|can) i watch|for user \d+)\b"),
    ("forecast", r"\b(forecast\w*|tomorrow|next \d+ (hours?|days?)|next (hour|day|week)|the load|"
                 r"oil temperature)\b"),
    ("image", r"\b(image|photo|picture|ant or a bee|bee or an ant)\b"),
    ("question", r"^(what|who|when|where|which|why|how)\b|\?\s*$"),
)


@dataclass
class Route:
    """How a message was routed: the skill, the classifier's view and the cue, and why, in words."""

    skill: str
    intent: str | None
    confidence: float | None
    cue: str | None
    reason: str


def keyword_cue(message: str) -> tuple[str, str] | None:
    """The first cue that matches: (skill, the words matched), or None."""
    text = message.strip().lower()
    for skill, pattern in CUES:
        found = re.search(pattern, text)
        if found:
            return skill, found.group(0).strip()
    return None


def decide_route(intent: str | None, confidence: float | None, unsure: bool, cue: tuple[str, str] | None) -> Route:
    """The routing rule, on its own so that it can be tested and read.

    The Day 3 classifier's intent stands when it is sure (>= ``ROUTE_CONFIDENCE``, not out-of-scope);
    otherwise a keyword cue decides; otherwise the classifier's intent (or "not sure") stands.
    """
    said = f"intent classifier: {intent} ({confidence:.0%})" if intent is not None else \
        "no intent classifier (Day 3 missing)"
    confident = intent is not None and not unsure and confidence >= ROUTE_CONFIDENCE and intent != "out_of_scope"
    if confident:
        agree = f" (keyword cue '{cue[1]}' agrees)" if cue and cue[0] == intent else ""
        return Route(intent, intent, confidence, cue and cue[1], f"{said} >= {ROUTE_CONFIDENCE:.0%}{agree}")
    if cue:
        if intent == "out_of_scope":
            why = f"{said}, but the keyword cue '{cue[1]}' names a skill: {cue[0]}"
        elif intent is not None:
            why = f"{said} < {ROUTE_CONFIDENCE:.0%}, so the keyword cue '{cue[1]}' decides: {cue[0]}"
        else:
            why = f"{said}; the keyword cue '{cue[1]}' decides: {cue[0]}"
        return Route(cue[0], intent, confidence, cue[1], why)
    if intent is None:
        return Route("unknown", None, None, None, f"{said}; no keyword cue matched")
    skill = "not_sure" if unsure else intent
    return Route(skill, intent, confidence, None, f"{said}; no keyword cue matched")


def route(components: Components, message: str) -> Route:
    """Route one message: the Day 3 classifier (if loaded) and the keyword cues, via ``decide_route``."""
    cue = keyword_cue(message)
    try:
        c = components.get("assistant").classify([message])[0]
    except ComponentUnavailable:
        return decide_route(None, None, True, cue)
    return decide_route(c["intent"], c["confidence"], c["unsure"], cue)


# ----------------------------------------------------------------------------------- chat: skills
def extract_title(message: str) -> str | None:
    """The movie named after 'like', 'similar to' or 'as good as', or in quotes; None if none."""
    quoted = re.search(r"[\"“']([^\"”']{2,})[\"”']", message)
    if quoted:
        return quoted.group(1).strip()
    found = re.search(r"\b(?:like|similar to|as good as|loved|enjoyed)\s+(.+?)\s*(?:[?.!,;]|$)", message, re.I)
    if not found:
        return None
    title = re.sub(r"^the (movie|film)\s+", "", found.group(1).strip(), flags=re.I)
    return title or None


def extract_user_id(message: str) -> int | None:
    """The id in 'user 42' / 'user #42'; None if none."""
    found = re.search(r"\buser\s*(?:id\s*)?#?\s*(\d+)", message, re.I)
    return int(found.group(1)) if found else None


def extract_review(message: str) -> str | None:
    """The text to judge: after the first colon, or in quotes; None if there is none."""
    quoted = re.search(r"[\"“]([^\"”]+)[\"”]", message)
    if quoted and quoted.group(1).strip():
        return quoted.group(1).strip()
    if ":" in message:
        text = message.split(":", 1)[1].strip()
        return text or None
    return None


def parse_horizon(message: str, default: int = DEFAULT_FORECAST_HOURS) -> int:
    """Hours ahead asked for: 'next 48 hours' -> 48, 'next 3 days' -> 72, 'tomorrow'/'next day' -> 24,
    'next week' -> 168, 'next hour' -> 1; else ``default``."""
    text = message.lower()
    found = re.search(r"(\d+)\s*(hours?|h\b|days?)", text)
    if found:
        n = int(found.group(1))
        return n * 24 if found.group(2).startswith("d") else n
    for words, hours in (("week", 168), ("tomorrow", 24), ("next day", 24), ("next hour", 1)):
        if words in text:
            return hours
    return default


def _recommend_reply(components: Components, message: str) -> tuple[str, dict]:
    recommender = components.get("recommender")
    user, title = extract_user_id(message), extract_title(message)
    tail = ""
    if user is not None:
        recs = recommender.recommend(user, k=CHAT_RECOMMENDATIONS)
        head = recs.note or f"Top {len(recs)} for user {user}:"
    elif title is not None:
        item = recommender.find_item(title)  # ValueError with close titles when none matches
        recs = recommender.recommend_for_ratings({item: 5}, k=CHAT_RECOMMENDATIONS)
        name = recommender.items.set_index("movielens_id").at[item, "title"]
        head = f"If you liked **{name}**, the recommender (fed that one 5-star rating) suggests:"
        similar = recommender.similar_items(item, k=3)
        tail = "\n\n_also liked by the same users: " + ", ".join(r.title for r in similar) + "_"
    else:
        recs = recommender.popular(CHAT_RECOMMENDATIONS)
        head = ("Tell me a movie you like ('something like Star Wars') or your user id ('for user 42') for "
                "personal picks. Meanwhile, the most popular:")
    lines = [f"{i}. {r.title}: {r.reason}" for i, r in enumerate(recs, 1)]
    return "\n".join([head, *lines]) + tail, {"items": [r.title for r in recs], "user_id": user, "title": title}


def _sentiment_reply(components: Components, message: str) -> tuple[str, dict]:
    text = extract_review(message)
    if text is None:
        return ("Send the text after a colon, e.g. *how does this review sound: the plot was dull*.",
                {"text": None})
    prediction = components.get("sentiment").predict(text)
    probs = ", ".join(f"{k} {v:.0%}" for k, v in sorted(prediction.probabilities.items(), key=lambda kv: -kv[1]))
    return (f"That review sounds **{prediction.label}** ({probs}) to the sentiment classifier.",
            {"text": text, **prediction.to_dict()})


def _question_reply(components: Components, message: str) -> tuple[str, dict]:
    a = components.get("assistant").answer(message)
    if a["answer"] is None:
        return (f"I could not find a confident answer in my knowledge base (best passage: "
                f"{a['source']['title']}, span score {a['score']:.2f}).", a)
    return f"{a['answer']}\n\n_source: {a['source']['title']} (span score {a['score']:.2f})_", a


def _forecast_reply(components: Components, message: str) -> tuple[str, dict]:
    forecaster = components.get("forecaster")
    asked = parse_horizon(message)
    horizon = min(asked, forecaster.horizons[-1])
    series = forecast_series(components)
    prediction = forecaster.forecast(series, horizon)
    cut = f" (capped at the longest trained horizon, {horizon} h)" if horizon < asked else ""
    lines = [f"Forecast for the {horizon} hours after {series.index[-1]}{cut}, from the last "
             f"{forecaster.lookback} h of the series:"]
    for column in [c for c in ("HUFL", "OT") if c in prediction] or list(prediction.columns[:2]):
        values = prediction[column]
        lines.append(f"- {column}: from {values.iloc[0]:.2f} to {values.iloc[-1]:.2f} "
                     f"(min {values.min():.2f}, max {values.max():.2f}, mean {values.mean():.2f})")
    lines.append("_HUFL: high useful load; OT: oil temperature. The Dashboard tab plots forecast vs actual._")
    return "\n".join(lines), {"horizon": horizon, "forecast": prediction}


def _image_reply(components: Components, message: str) -> tuple[str, dict]:
    state = "ready" if components.available("image_classifier") else "missing"
    return (f"Upload the photo in the **Image** tab: the classifier ({state}) labels it and shows where it "
            "looked.", {})


CAPABILITIES = ("I can recommend movies (*something like Star Wars*, *for user 42*), judge a review "
                "(*how does this review sound: ...*), forecast the transformer load (*what will the load be "
                "tomorrow*), answer questions about this project, and label photos in the Image tab.")
SKILL_HANDLERS = {"recommend": _recommend_reply, "sentiment": _sentiment_reply, "forecast": _forecast_reply,
                  "question": _question_reply, "image": _image_reply}


@dataclass
class ChatAnswer:
    """One chat turn: the reply text, how it was routed, and the component's raw result."""

    text: str
    route: Route
    data: dict = field(default_factory=dict)


def chat(components: Components, message, history=None) -> ChatAnswer:
    """Route ``message`` by intent and answer it with the component the route names.

    history: accepted for chat UIs (messages format) and not used. ValueError for an empty message.
    """
    if not isinstance(message, str) or not message.strip():
        raise ValueError("the message is empty: type a question or a request")
    message = message.strip()
    r = route(components, message)
    handler = SKILL_HANDLERS.get(r.skill)
    if handler is not None:
        try:
            text, data = handler(components, message)
        except ValueError as e:  # an unknown title, a missing component: the route still shows
            return ChatAnswer(f"Sorry: {e}", r, {"error": str(e)})
        return ChatAnswer(text, r, data)
    if r.skill in ("greeting", "goodbye"):
        from .assistant import SKILL_REPLIES

        return ChatAnswer(SKILL_REPLIES[r.skill] + ("" if r.skill == "goodbye" else f"\n\n{CAPABILITIES}"), r)
    lead = "That is outside what I was built for." if r.skill == "out_of_scope" else "I'm not sure what you mean."
    return ChatAnswer(f"{lead} {CAPABILITIES}", r)


def format_chat(answer: ChatAnswer) -> str:
    """The reply as shown in the chat: the text, then the route and why."""
    return f"{answer.text}\n\n`route: {answer.route.skill}` · {answer.route.reason}"


def chat_text(components: Components, message, history=None) -> str:
    """``chat`` for a UI: the formatted reply, or a sentence saying what was wrong (never a traceback)."""
    try:
        return format_chat(chat(components, message, history))
    except ValueError as e:  # bad input, an unknown title, a missing component: all say what to do
        return f"Sorry: {e}"


# ----------------------------------------------------------------------------------- dashboard
def forecast_series(components: Components):
    """The series the forecaster was trained on (ETTh1 through ``data.fetch``; the smoke profile's
    generated series otherwise), cut to the benchmark's 20 months; cached."""
    from . import forecasting as fc

    status = components.statuses["forecaster"]
    components.get("forecaster")  # raises ComponentUnavailable with the remedy

    def make():
        if status.config.get("data") == "ETTh1":
            try:
                return fc.load_etth1().iloc[:sum(fc.ETT_SPLIT)]
            except Exception as e:  # offline with no mirror or cache: say so
                raise ComponentUnavailable(f"the forecaster is loaded but ETTh1 could not be read ({e})") from None
        return fc.synthetic_series(fc.settings("smoke")["n_rows"], seed=0)

    return components.cached("forecast_series", make)


def check_horizon(horizon, longest: int) -> int:
    """``horizon`` as an int from 1 to ``longest`` (a whole float such as 24.0 from a slider is fine)."""
    if isinstance(horizon, float) and horizon.is_integer():
        horizon = int(horizon)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= longest:
        raise ValueError(f"the horizon must be a whole number of hours from 1 to {longest} (the longest "
                         f"trained horizon), got {horizon!r}")
    return horizon


@dataclass
class ForecastView:
    """Forecast vs actual over the last ``horizon`` rows of the test part: both frames, the errors on the
    standardised scale (all channels; and the repeat-last baseline's), and the figure."""

    horizon: int
    column: str
    forecast: object  # DataFrame
    actual: object  # DataFrame
    mse: float
    mae: float
    naive_mse: float
    figure: object = None


def forecast_vs_actual(components: Components, horizon: int, column: str = "OT", plot: bool = True) -> ForecastView:
    """Day 4 from the rows just before the last ``horizon`` rows of the series, against what happened.

    horizon: hours, 1 to the longest trained horizon. column: the variable to plot.
    """
    import numpy as np

    forecaster = components.get("forecaster")
    series = forecast_series(components)
    horizon = check_horizon(horizon, forecaster.horizons[-1])
    if column not in forecaster.columns:
        raise ValueError(f"unknown column {column!r}; the forecaster predicts {forecaster.columns}")
    history, actual = series.iloc[:-horizon], series.iloc[-horizon:]
    predicted = forecaster.forecast(history, horizon)
    scale = forecaster.scaler
    err = scale.transform(predicted.to_numpy()) - scale.transform(actual.to_numpy())
    naive = scale.transform(np.repeat(history.to_numpy()[-1:], horizon, 0)) - scale.transform(actual.to_numpy())
    view = ForecastView(horizon, column, predicted, actual, float(np.mean(err ** 2)), float(np.mean(np.abs(err))),
                        float(np.mean(naive ** 2)))
    if plot:
        import matplotlib.pyplot as plt

        from .plots import plot_forecast

        look = history.iloc[-min(forecaster.lookback, 4 * horizon):]
        view.figure = plot_forecast(look[column], actual[column], predicted[column], look.index, actual.index,
                                    title=f"{column}: {horizon} h forecast vs actual (held-out end of the series)",
                                    ylabel=column)
        plt.close(view.figure)  # the app keeps the Figure; pyplot need not (no figure pile-up)
    return view


def forecast_summary(view: ForecastView) -> str:
    """One markdown paragraph on a ``ForecastView``."""
    better = "beats" if view.mse < view.naive_mse else "does not beat"
    return (f"**{view.horizon} h ahead**, all 7 variables on the standardised scale: MSE {view.mse:.3f}, "
            f"MAE {view.mae:.3f}; repeating the last value gives MSE {view.naive_mse:.3f}, so the forecaster "
            f"{better} it on this window (one window: the test-set MSE in the Status tab is the fair number).")


def parse_user_id(value) -> int:
    """A user id from a number or text ('42', 42.0); ValueError for anything else."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("no user id given: type a number such as 42")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"a user id is a whole number, got {value!r}") from None
    if not number.is_integer():
        raise ValueError(f"a user id is a whole number, got {value!r}")
    return int(number)


@dataclass
class UserView:
    """Day 1's picks for a user (a table), the note (cold start, say), and Day 5 on their review text."""

    user_id: int
    table: object  # DataFrame
    note: str
    sentiment: dict | None = None


def user_dashboard(components: Components, user_id, k: int = 10, review: str | None = None) -> UserView:
    """Recommendations for ``user_id`` (an unknown id gets the popular items, marked as such) and, when
    ``review`` holds text, its sentiment. ValueError for an id that is not a whole number."""
    recommender = components.get("recommender")
    user = parse_user_id(user_id)
    recs = recommender.recommend(user, k=int(k))
    known = f"users run from {recommender.users['movielens_id'].min()} to {recommender.users['movielens_id'].max()}"
    note = f"**Unknown user {user}** ({known}): {recs.note}" if recs.cold_start else f"Top {len(recs)} for user {user}."
    sentiment = None
    if review is not None and review.strip():
        sentiment = components.get("sentiment").predict(review.strip()).to_dict()
    return UserView(user, recs.to_frame(), note, sentiment)


def sentiment_line(sentiment: dict | None) -> str:
    """The review's sentiment in a sentence, or a note that there was none."""
    if not sentiment:
        return ("MovieLens 100k has ratings but no review text: type a review this user might write to see "
                "its sentiment.")
    probs = ", ".join(f"{k} {v:.0%}" for k, v in sentiment["probabilities"].items())
    return f"Their review reads **{sentiment['label']}** ({probs})."


# ----------------------------------------------------------------------------------- latency
EXAMPLE_MESSAGES = {"recommend": "recommend me something like Star Wars",
                    "sentiment": "how does this review sound: a gripping, beautiful film",
                    "forecast": "what will the load be tomorrow", "question": "what is distilbert?"}


def percentile(values, q: float) -> float:
    """The q-th percentile (0-100) of ``values`` by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def time_ms(fn, repeats: int) -> list[float]:
    """Wall times of ``fn()`` in milliseconds, after one warm-up call."""
    from .env import timed_calls

    return [1000 * t for t in timed_calls(fn, repeats)]


def flow_calls(components: Components, image=None) -> dict:
    """Flow name -> a no-argument call of it, end to end as the app runs it, for the available components.

    image: the picture for the image flow (default: a drawn square).
    """
    if image is None:
        from PIL import Image, ImageDraw

        image = Image.new("RGB", (224, 224), "black")
        ImageDraw.Draw(image).rectangle([60, 60, 160, 160], fill="white")
    days = {"recommend": "Day 1", "sentiment": "Day 5", "forecast": "Day 4", "question": "Day 3 QA"}
    calls = {f"chat -> {days[k]} ({k})": (lambda m=m: chat(components, m)) for k, m in EXAMPLE_MESSAGES.items()}
    calls["chat -> greeting (Day 3 only)"] = lambda: chat(components, "hello")
    if components.available("image_classifier"):
        calls["image -> Day 2 label + Grad-CAM + words"] = lambda: classify_image(components, image)
    if components.available("forecaster"):
        calls["dashboard: Day 4 forecast vs actual, 24 h + plot"] = lambda: forecast_vs_actual(components, 24)
    if components.available("recommender"):
        calls["dashboard: Day 1 top-10 + Day 5 on a review"] = lambda: user_dashboard(
            components, 1, 10, "a wonderful film")
    return calls


def flow_latency(components: Components, repeats: int = 20, image=None) -> list[dict]:
    """Per flow: {"flow", "median_ms", "p95_ms", "calls"} over ``repeats`` timed calls (after a warm-up)."""
    rows = []
    for name, call in flow_calls(components, image).items():
        times = time_ms(call, repeats)
        rows.append({"flow": name, "median_ms": round(percentile(times, 50), 1),
                     "p95_ms": round(percentile(times, 95), 1), "calls": repeats})
    return rows


# ----------------------------------------------------------------------------------- the app
def _status_banner(components: Components, key: str) -> str:
    status = components.statuses[key]
    return "" if status.available else f"⚠️ {status.message()}"


def build_demo(components: Components | None = None):
    """The Gradio Blocks app over ``components`` (default: found as ``find_artifact_dir`` says, loaded on
    first use). Endpoints: /chat, /classify_image, /forecast, /recommend, /status."""
    import gradio as gr

    components = components if components is not None else Components()

    def on_image(path):
        try:
            a = classify_image(components, path)
            return a.probabilities, a.overlay, a.text
        except ValueError as e:
            return None, None, f"**Could not classify:** {e}"

    def on_forecast(horizon, column):
        try:
            view = forecast_vs_actual(components, horizon, column)
            return view.figure, forecast_summary(view)
        except ValueError as e:
            return None, f"**Could not forecast:** {e}"

    def on_recommend(user_id, k, review):
        try:
            view = user_dashboard(components, user_id, int(k), review)
            return view.table, f"{view.note}\n\n{sentiment_line(view.sentiment)}"
        except ValueError as e:
            return None, f"**Could not recommend:** {e}"

    horizons = [24, 96]
    if components.available("forecaster"):
        horizons = components.statuses["forecaster"].config.get("horizons", horizons)
    with gr.Blocks(title="applied-mlx: Day 6") as demo:
        gr.Markdown("# applied-mlx: one app over Days 1-5\nA chat that routes by intent, an image classifier "
                    "that explains itself, and a dashboard. The Status tab shows what is loaded.")
        with gr.Tab("Chat"):
            gr.Markdown(_status_banner(components, "assistant"))
            # one copy button per message and none at the top right, where Gradio's share / copy-all toolbar
            # used to cover the first message
            gr.ChatInterface(lambda message, history: chat_text(components, message, history), api_name="chat",
                             chatbot=gr.Chatbot(label="assistant", buttons=["copy"], height=520),
                             examples=["recommend me something like Star Wars",
                                       "how does this review sound: a gripping, beautiful film",
                                       "what will the load be tomorrow", "what is distilbert?"],
                             run_examples_on_click=True, cache_examples=False)
        with gr.Tab("Image"):
            gr.Markdown(_status_banner(components, "image_classifier"))
            with gr.Row():
                image_in = gr.File(label="photo (JPEG, PNG, ...)", type="filepath", elem_id="image-input")
                overlay_out = gr.Image(label="Grad-CAM: where the evidence lies", type="pil")
            label_out = gr.Label(label="probabilities")
            text_out = gr.Markdown(elem_id="image-text")
            gr.Button("Classify", variant="primary").click(on_image, image_in, [label_out, overlay_out, text_out],
                                                          api_name="classify_image")
        with gr.Tab("Dashboard"):
            gr.Markdown(_status_banner(components, "forecaster") or "### Day 4: forecast vs actual")
            with gr.Row():
                horizon = gr.Slider(1, max(horizons), value=min(DEFAULT_FORECAST_HOURS, max(horizons)), step=1,
                                    label="horizon (hours)")
                column = gr.Dropdown(["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"], value="OT",
                                     label="variable")
            plot = gr.Plot(label="forecast vs actual")
            forecast_text = gr.Markdown()
            gr.Button("Forecast").click(on_forecast, [horizon, column], [plot, forecast_text], api_name="forecast")
            gr.Markdown(_status_banner(components, "recommender") or "### Day 1: recommendations for a user")
            with gr.Row():
                user = gr.Textbox(value="42", label="user id")
                k = gr.Slider(1, 20, value=10, step=1, label="how many")
                review = gr.Textbox(label="their review (optional): Day 5 reads its sentiment")
            table = gr.Dataframe(label="recommendations")
            user_text = gr.Markdown()
            gr.Button("Recommend").click(on_recommend, [user, k, review], [table, user_text], api_name="recommend")
        with gr.Tab("Status"):
            status_text = gr.Markdown(components.report())
            gr.Button("Refresh").click(components.report, None, status_text, api_name="status")
        demo.load(components.report, None, status_text, api_visibility="private")  # fresh on each page load
    demo.queue(default_concurrency_limit=4, max_size=512)
    return demo


COMPONENTS = Components()  # found now, loaded on first use: building the app costs no model loading
demo = build_demo(COMPONENTS)

if __name__ == "__main__":  # python -m applied_mlx.app [--port N]
    import argparse

    parser = argparse.ArgumentParser(description="Serve the Day 6 app on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    args = parser.parse_args()
    print(COMPONENTS.load_all().report())  # load before serving: the first visitor does not wait
    demo.launch(server_name="127.0.0.1", server_port=args.port)
