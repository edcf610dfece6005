"""The flows that combine the components, as plain functions (no Gradio): the image flow, the chat's skills,
the dashboard, and the latency helpers.

Every flow takes a ``Components`` and works with any subset of them: a single-component flow raises
``ComponentUnavailable`` (a ValueError saying which notebook to run), the dashboard returns what it has and
says what is missing. Each request's work is bounded (message length, k, horizon) before any model runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .components import FATAL, Components, ComponentUnavailable, log

CHAT_RECOMMENDATIONS = 5
DEFAULT_FORECAST_HOURS = 24
MAX_K = 50  # recommendations per request
MAX_MESSAGE_CHARS = 2_000  # a chat message or a review; Day 3 reads no more of a message either
MAX_ID_CHARS = 32  # a user id typed as text
ID_DIGITS = 9  # a user id named in a chat message
HORIZON_DIGITS = 6  # '999999 hours' is already past any trained horizon; longer numbers are read as that


def failure_text(error: BaseException) -> str:
    """What a user reads when a request fails: a ValueError's own message (bad input, a missing component),
    else that the request failed and was logged. Re-raises an interpreter shutdown (``FATAL``)."""
    if isinstance(error, FATAL):
        raise error
    if isinstance(error, ValueError):
        return str(error)
    log.error("a request failed", exc_info=error)
    return (f"the request failed inside the app ({type(error).__name__}); the error was logged. Try again, "
            "or try a shorter or different request")


def check_text(value, what: str, required: bool = True) -> str | None:
    """``value`` stripped, at most ``MAX_MESSAGE_CHARS`` long; None for no text when not ``required``.

    ValueError saying what was wrong for a non-str, an empty text (when required) or a too long one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"the {what} is empty: type a question or a request" if value is not None
                             else f"no {what} given: type a question or a request")
        return None
    if not isinstance(value, str):
        raise ValueError(f"the {what} must be text, got {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValueError(f"the {what} is {len(text):,} characters long; at most {MAX_MESSAGE_CHARS:,} are read: "
                         "shorten it")
    return text


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
    """The id in 'user 42' / 'user #42'; None if none. ValueError for an id of more than ``ID_DIGITS`` digits."""
    found = re.search(r"\buser\s*(?:id\s*)?#?\s*(\d+)", message, re.I)
    if found is None:
        return None
    if len(found.group(1)) > ID_DIGITS:  # int() of thousands of digits is slow, then refused by Python
        raise ValueError(f"a user id has at most {ID_DIGITS} digits, got one of {len(found.group(1)):,}")
    return int(found.group(1))


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
    'next week' -> 168, 'next hour' -> 1; else ``default``. A number of more than ``HORIZON_DIGITS`` digits
    reads as the largest one of that many (the caller caps it at the longest trained horizon)."""
    text = message.lower()
    found = re.search(r"(\d+)\s*(hours?|h\b|days?)", text)
    if found:
        digits = found.group(1)
        n = int(digits) if len(digits) <= HORIZON_DIGITS else 10 ** HORIZON_DIGITS - 1
        return n * 24 if found.group(2).startswith("d") else n
    for words, hours in (("week", 168), ("tomorrow", 24), ("next day", 24), ("next hour", 1)):
        if words in text:
            return hours
    return default


def recommend_reply(components: Components, message: str) -> tuple[str, dict]:
    """Day 1 for a chat message: a user's picks ('for user 42'), picks like a title, or the most popular."""
    recommender = components.get("recommender")
    user, title = extract_user_id(message), extract_title(message)
    tail = ""
    if user is not None:
        recs = recommender.recommend(user, k=CHAT_RECOMMENDATIONS)
        head = recs.note or f"Top {len(recs)} for user {user}:"
    elif title is not None:
        item = recommender.find_item(title)  # ValueError with close titles when none matches
        top = recommender.rating_range[1]  # the best rating on the data's own scale (5 stars for MovieLens)
        recs = recommender.recommend_for_ratings({item: top}, k=CHAT_RECOMMENDATIONS)
        head = (f"If you liked **{recommender.title_of(item)}**, the recommender (fed that one {top:g}-star rating) "
                "suggests:")
        similar = recommender.similar_items(item, k=3)
        tail = "\n\n_also liked by the same users: " + ", ".join(r.title for r in similar) + "_"
    else:
        recs = recommender.popular(CHAT_RECOMMENDATIONS)
        head = ("Tell me a movie you like ('something like Star Wars') or your user id ('for user 42') for "
                "personal picks. Meanwhile, the most popular:")
    lines = [f"{i}. {r.title}: {r.reason}" for i, r in enumerate(recs, 1)]
    return "\n".join([head, *lines]) + tail, {"items": [r.title for r in recs], "user_id": user, "title": title}


def sentiment_reply(components: Components, message: str) -> tuple[str, dict]:
    """Day 5 on the text after the colon (or in quotes) of a chat message."""
    text = extract_review(message)
    if text is None:
        return ("Send the text after a colon, e.g. *how does this review sound: the plot was dull*.",
                {"text": None})
    prediction = components.get("sentiment").predict(text)
    probs = ", ".join(f"{k} {v:.0%}" for k, v in sorted(prediction.probabilities.items(), key=lambda kv: -kv[1]))
    return (f"That review sounds **{prediction.label}** ({probs}) to the sentiment classifier.",
            {"text": text, **prediction.to_dict()})


def question_reply(components: Components, message: str) -> tuple[str, dict]:
    """Day 3's extractive QA over its knowledge base, with the source."""
    a = components.get("assistant").answer(message)
    if a["answer"] is None:
        return (f"I could not find a confident answer in my knowledge base (best passage: "
                f"{a['source']['title']}, span score {a['score']:.2f}).", a)
    return f"{a['answer']}\n\n_source: {a['source']['title']} (span score {a['score']:.2f})_", a


def forecast_reply(components: Components, message: str) -> tuple[str, dict]:
    """Day 4 from the end of its series, for the horizon the message asks (capped at the longest trained)."""
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


def image_reply(components: Components, message: str) -> tuple[str, dict]:
    """Where to upload a photo, and whether the image classifier is there."""
    state = "ready" if components.available("image_classifier") else "missing"
    return (f"Upload the photo in the **Image** tab: the classifier ({state}) labels it and shows where it "
            "looked.", {})


CAPABILITIES = ("I can recommend movies (*something like Star Wars*, *for user 42*), judge a review "
                "(*how does this review sound: ...*), forecast the transformer load (*what will the load be "
                "tomorrow*), answer questions about this project, and label photos in the Image tab.")


# ----------------------------------------------------------------------------------- dashboard
ETTH1_FIX = ("make ETTh1 readable by `applied_mlx.data.fetch('ett-h1')` (a mirror in `APPLIED_MLX_MIRROR`, the "
             "cache, or the internet), then restart the app")


def forecast_series(components: Components):
    """The series the forecaster was trained on (ETTh1 through ``data.fetch``, cut to the benchmark's 20
    months; the smoke profile's generated series otherwise); cached. If ETTh1 cannot be read, the failure
    is remembered (not retried per request) and the forecaster's status says so."""
    from .. import forecasting as fc

    status = components.statuses["forecaster"]
    components.get("forecaster")  # raises ComponentUnavailable with the remedy

    def make():
        if status.config.get("data") == "ETTh1":
            try:
                return fc.benchmark_rows(fc.load_etth1())
            except Exception as e:  # offline with no mirror or cache: say so, in the status too
                status.fail("no data", f"the forecaster loaded, but ETTh1 could not be read ({e})", ETTH1_FIX)
                raise ComponentUnavailable(status.message()) from None
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


def check_k(k) -> int:
    """How many recommendations: a whole number from 1 to ``MAX_K`` (24.0 from a slider is fine)."""
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ValueError(f"how many recommendations: a whole number from 1 to {MAX_K}, got {k!r}")
    return k


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
    history: object = None  # DataFrame: the rows before the forecast that are shown (at most the look-back)


def forecast_vs_actual(components: Components, horizon: int, column: str = "OT", plot: bool = True) -> ForecastView:
    """Day 4 from the rows just before the last ``horizon`` rows of the series, against what happened.

    horizon: hours, 1 to the longest trained horizon. column: the variable to plot.
    """
    import numpy as np

    forecaster = components.get("forecaster")
    horizon = check_horizon(horizon, forecaster.horizons[-1])
    if column not in forecaster.columns:
        raise ValueError(f"unknown column {column!r}; the forecaster predicts {forecaster.columns}")
    series = forecast_series(components)
    history, actual = series.iloc[:-horizon], series.iloc[-horizon:]
    predicted = forecaster.forecast(history, horizon)
    naive = np.repeat(history[forecaster.columns].to_numpy()[-1:], horizon, 0)
    err = forecaster.standardized_errors(predicted, actual)
    naive_err = forecaster.standardized_errors(naive, actual)
    look = history.iloc[-min(forecaster.lookback, 4 * horizon):]
    view = ForecastView(horizon, column, predicted, actual, float(np.mean(err ** 2)), float(np.mean(np.abs(err))),
                        float(np.mean(naive_err ** 2)), history=look)
    if plot:
        import matplotlib.pyplot as plt

        from ..plots import plot_forecast

        view.figure = plot_forecast(look[column], actual[column], predicted[column], look.index, actual.index,
                                    title=f"{column}: {horizon} h forecast vs actual (held-out end of the series)",
                                    ylabel=column)
        plt.close(view.figure)  # the app keeps the Figure; pyplot need not (no figure pile-up)
    return view


def forecast_summary(view: ForecastView) -> str:
    """One markdown paragraph on a ``ForecastView``."""
    better = "beats" if view.mse < view.naive_mse else "does not beat"
    return (f"**{view.horizon} h ahead**, all {view.forecast.shape[1]} variables on the standardised scale: MSE "
            f"{view.mse:.3f}, MAE {view.mae:.3f}; repeating the last value gives MSE {view.naive_mse:.3f}, so the "
            f"forecaster {better} it on this window (one window: the test-set MSE in the Status tab is the fair "
            "number).")


FORECAST_LINES = ("history", "actual", "forecast")
PLOT_DECIMALS = 3  # what a hover shows: the ETT readings themselves have 3 decimals


def forecast_frame(view: ForecastView):
    """The plotted variable in long format, for a native line plot: columns time, value, series (``FORECAST_LINES``).

    actual and forecast start at the last history point, so each line joins the history (and a 1 h forecast is a
    segment, not a lone point); values are rounded to ``PLOT_DECIMALS``."""
    import pandas as pd

    if view.history is None:
        raise ValueError("this forecast view has no history rows to plot: make it with forecast_vs_actual()")
    history = view.history[view.column]
    anchor = history.iloc[-1:]
    predicted = pd.Series(view.forecast[view.column].to_numpy(), index=view.actual.index)
    lines = dict(zip(FORECAST_LINES, (history, pd.concat([anchor, view.actual[view.column]]),
                                      pd.concat([anchor, predicted]))))
    return pd.concat([pd.DataFrame({"time": line.index, "value": line.to_numpy(dtype=float).round(PLOT_DECIMALS),
                                    "series": name}) for name, line in lines.items()], ignore_index=True)


def parse_user_id(value) -> int:
    """A user id from a number or text ('42', 42.0); ValueError for anything else."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("no user id given: type a number such as 42")
    if isinstance(value, str) and len(value.strip()) > MAX_ID_CHARS:
        raise ValueError(f"a user id is a whole number of at most {MAX_ID_CHARS} characters, got "
                         f"{len(value.strip()):,} characters")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"a user id is a whole number, got {value!r}") from None
    if not number.is_integer():
        raise ValueError(f"a user id is a whole number, got {value!r}")
    return int(number)


@dataclass
class UserView:
    """Day 1's picks for a user (a table; None without Day 1), the note (cold start, say), Day 5 on their
    review text, and a sentence per component the view needed and did not have."""

    user_id: int
    table: object  # DataFrame or None
    note: str
    sentiment: dict | None = None
    review: str | None = None
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The view in markdown: the note, the review's sentiment (or how to get one), what is missing."""
        parts = [self.note] if self.note else []
        if self.sentiment is not None or self.review is None:
            parts.append(sentiment_line(self.sentiment))
        return "\n\n".join(parts + self.missing)


def user_dashboard(components: Components, user_id, k: int = 10, review: str | None = None) -> UserView:
    """Recommendations for ``user_id`` (an unknown id gets the popular items, marked as such) and, when
    ``review`` holds text, its sentiment. A missing component leaves its part out and says what to run.

    ValueError for an id that is not a whole number, k outside 1-``MAX_K``, a review that is not text or too long."""
    user, k = parse_user_id(user_id), check_k(k)
    review = check_text(review, "review", required=False)
    view = UserView(user, None, "", review=review)
    try:
        recommender = components.get("recommender")
    except ComponentUnavailable as e:
        view.missing.append(f"No recommendations: {e}")
    else:
        recs = recommender.recommend(user, k=k)
        low, high = recommender.user_id_range()
        view.table = recs.to_frame()
        view.note = (f"**Unknown user {user}** (users run from {low} to {high}): {recs.note}" if recs.cold_start
                     else f"Top {len(recs)} for user {user}.")
    if review is not None:
        try:
            view.sentiment = components.get("sentiment").predict(review).to_dict()
        except ComponentUnavailable as e:
            view.missing.append(f"The review was not read: {e}")
    return view


RECOMMENDATION_COLUMNS = ("title", "score (%)", "predicted rating (1-5)", "reason", "item_id")
SCORE_NOTE = ("score: the recommender's chance, in %, that this is the user's next movie among those they have not "
              "rated (for an unknown user: the share of all users who rated it)")


def recommendation_table(frame):
    """Day 1's picks (``Recommendations.to_frame()``) as people read them, in ``RECOMMENDATION_COLUMNS``: the
    score as a percentage to 2 decimals, the predicted rating to 2 (None where the model gives none), the reason
    in full."""
    import pandas as pd

    missing = {"item_id", "title", "score", "reason"} - set(frame.columns)
    if missing:
        raise ValueError(f"a recommendations table needs the columns item_id, title, score and reason; "
                         f"{sorted(missing)} missing")
    ratings = frame["predicted_rating"] if "predicted_rating" in frame else pd.Series(None, index=frame.index)
    columns = (frame["title"].astype(str), (frame["score"].astype(float) * 100).round(2),
               # object dtype keeps None as None (JSON null, a blank cell), where a float column would hold NaN
               pd.Series([None if pd.isna(r) else round(float(r), 2) for r in ratings], index=frame.index,
                         dtype=object),
               frame["reason"].astype(str), frame["item_id"].astype(int))
    return pd.DataFrame(dict(zip(RECOMMENDATION_COLUMNS, columns))).reset_index(drop=True)


def sentiment_line(sentiment: dict | None) -> str:
    """The review's sentiment in a sentence, or a note that there was none."""
    if not sentiment:
        return ("MovieLens 100k has ratings but no review text: type a review this user might write to see "
                "its sentiment.")
    probs = ", ".join(f"{k} {v:.0%}" for k, v in sentiment["probabilities"].items())
    return f"Their review reads **{sentiment['label']}** ({probs})."


# ----------------------------------------------------------------------------------- latency
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
    from ..env import timed_calls

    return [1000 * t for t in timed_calls(fn, repeats)]
