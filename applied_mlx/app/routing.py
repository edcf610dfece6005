"""The chat: Day 3's routing rule (``assistant.route_message``) with a handler per component behind it.

The rule itself (the classifier when it is sure, else keyword cues) lives in ``applied_mlx.assistant``, where
Day 3's own chat uses it too; this module adds the routes that call Days 1, 2, 4 and 5, turns every failure
into a reply that says what went wrong, and times the flows end to end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..assistant import CUES, ROUTE_CONFIDENCE, SKILL_REPLIES, Route, decide_route, keyword_cue, route_message
from . import flows
from .components import Components, ComponentUnavailable

__all__ = ["CUES", "ROUTE_CONFIDENCE", "Route", "decide_route", "keyword_cue", "route", "SKILL_HANDLERS",
           "ChatAnswer", "chat", "format_chat", "chat_text", "EXAMPLE_MESSAGES", "flow_calls", "flow_latency"]

ROUTES = ("recommend", "sentiment", "forecast", "question", "image")  # the skills that call a component
SKILL_HANDLERS = {"recommend": flows.recommend_reply, "sentiment": flows.sentiment_reply,
                  "forecast": flows.forecast_reply, "question": flows.question_reply, "image": flows.image_reply}


def route(components: Components, message: str) -> Route:
    """Route one message: the Day 3 classifier (if it loads) and the keyword cues, via ``route_message``."""
    try:
        classify = components.get("assistant").classify
    except ComponentUnavailable:
        classify = None
    return route_message(message, classify)


@dataclass
class ChatAnswer:
    """One chat turn: the reply text, how it was routed, and the component's raw result."""

    text: str
    route: Route
    data: dict = field(default_factory=dict)


def chat(components: Components, message, history=None) -> ChatAnswer:
    """Route ``message`` by intent and answer it with the component the route names.

    history: accepted for chat UIs (messages format) and not used. ValueError for no message, an empty one
    or one longer than ``flows.MAX_MESSAGE_CHARS``. A handler's failure becomes the reply, with the route.
    """
    message = flows.check_text(message, "message")
    r = route(components, message)
    handler = SKILL_HANDLERS.get(r.skill)
    if handler is not None:
        try:
            text, data = handler(components, message)
        except BaseException as e:  # noqa: BLE001  (an unknown title, a missing component, a panic: route shown)
            reason = flows.failure_text(e)
            return ChatAnswer(f"Sorry: {reason}", r, {"error": reason})
        return ChatAnswer(text, r, data)
    if r.skill in ("greeting", "goodbye"):
        return ChatAnswer(SKILL_REPLIES[r.skill] + ("" if r.skill == "goodbye" else f"\n\n{flows.CAPABILITIES}"), r)
    lead = "That is outside what I was built for." if r.skill == "out_of_scope" else "I'm not sure what you mean."
    return ChatAnswer(f"{lead} {flows.CAPABILITIES}", r)


def format_chat(answer: ChatAnswer) -> str:
    """The reply as shown in the chat: the text, then the route and why."""
    return f"{answer.text}\n\n`route: {answer.route.skill}` · {answer.route.reason}"


def chat_text(components: Components, message, history=None) -> str:
    """``chat`` for a UI: the formatted reply, or a sentence saying what was wrong (never a traceback, never
    an exception: bad input, a missing component and a crash inside a model all get an answer)."""
    try:
        return format_chat(chat(components, message, history))
    except BaseException as e:  # noqa: BLE001  (failure_text re-raises an interpreter shutdown)
        return f"Sorry: {flows.failure_text(e)}"


# ----------------------------------------------------------------------------------- latency
EXAMPLE_MESSAGES = {"recommend": "recommend me something like Star Wars",
                    "sentiment": "how does this review sound: a gripping, beautiful film",
                    "forecast": "what will the load be tomorrow", "question": "what is distilbert?"}


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
        calls["image -> Day 2 label + Grad-CAM + words"] = lambda: flows.classify_image(components, image)
    if components.available("forecaster"):
        calls["dashboard: Day 4 forecast vs actual, 24 h + plot"] = lambda: flows.forecast_vs_actual(components, 24)
    if components.available("recommender"):
        calls["dashboard: Day 1 top-10 + Day 5 on a review"] = lambda: flows.user_dashboard(
            components, 1, 10, "a wonderful film")
    return calls


def flow_latency(components: Components, repeats: int = 20, image=None) -> list[dict]:
    """Per flow: {"flow", "median_ms", "p95_ms", "calls"} over ``repeats`` timed calls (after a warm-up)."""
    rows = []
    for name, call in flow_calls(components, image).items():
        times = flows.time_ms(call, repeats)
        rows.append({"flow": name, "median_ms": round(flows.percentile(times, 50), 1),
                     "p95_ms": round(flows.percentile(times, 95), 1), "calls": repeats})
    return rows
