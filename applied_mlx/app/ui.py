"""The Gradio app over the components: Chat, Image, Dashboard and Status tabs, each also an API endpoint.

Every handler answers: bad input, a missing component and a failure inside a model each come back as a
sentence (the last logged), so no request ends in a bare "Error" or goes unanswered.
"""

from __future__ import annotations

from .components import Components
from .flows import (
    DEFAULT_FORECAST_HOURS,
    FORECAST_LINES,
    MAX_K,
    RECOMMENDATION_COLUMNS,
    SCORE_NOTE,
    classify_image,
    failure_text,
    forecast_frame,
    forecast_summary,
    forecast_vs_actual,
    recommendation_table,
    user_dashboard,
)
from .routing import EXAMPLE_MESSAGES, chat_text
from .training import banner, build_table

ETT_VARIABLES = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
QUEUE_CONCURRENCY = 4  # requests running at once; the rest wait in the queue
QUEUE_SIZE = 512  # requests waiting; more are refused at once rather than kept for minutes
MAX_UPLOAD = "20mb"  # an upload larger than this is refused by the server before any handler sees it
# Gradio keeps each session's state (~100 KB here) until this many newer sessions push it out; its default of
# 10,000 lets an app that every API call opens a session for grow by about a gigabyte
STATE_SESSIONS = 1_000
DEFAULT_USER = 42  # the Dashboard opens on this user's picks (on the first known user where there is no user 42)
DEFAULT_K = 10
FORECAST_COLORS = dict(zip(FORECAST_LINES, ("#7f7f7f", "#1f77b4", "#d62728")))  # grey, blue, red as in Day 4
# the recommendation table's columns (RECOMMENDATION_COLUMNS): the title and the reason get the room, and wrap
RECOMMENDATION_WIDTHS = ["25%", "9%", "11%", "43%", "8%"]
STATUS_SECONDS = 2.0  # how often an open page refreshes the status and the tabs' banners
BANNERS = ("assistant", "image_classifier", "forecaster", "recommender")  # the tabs' order of banners


def longest_horizon(components: Components, default: int = 96) -> int:
    """The forecaster's longest trained horizon from its config (``default`` when it is missing or garbled)."""
    status = components.statuses.get("forecaster")
    horizons = status.config.get("horizons") if status is not None and status.available else None
    valid = [h for h in horizons if isinstance(h, int) and not isinstance(h, bool) and h > 0] \
        if isinstance(horizons, list) else []
    return max(valid, default=default)


def image_handler(components: Components):
    """The Image tab's handler: (probabilities, overlay, text); the text says what went wrong on failure."""
    def on_image(path):
        try:
            a = classify_image(components, path)
            return a.probabilities, a.overlay, a.text
        except BaseException as e:  # noqa: BLE001  (failure_text re-raises an interpreter shutdown)
            return None, None, f"**Could not classify:** {failure_text(e)}"

    return on_image


def forecast_handler(components: Components):
    """The Dashboard's forecast handler: (the plotted variable in long format: time, value, series; text)."""
    def on_forecast(horizon, column):
        try:
            view = forecast_vs_actual(components, horizon, column, plot=False)  # the native plot draws the frame
            return forecast_frame(view), forecast_summary(view)
        except BaseException as e:  # noqa: BLE001
            return None, f"**Could not forecast:** {failure_text(e)}"

    return on_forecast


def recommend_handler(components: Components):
    """The Dashboard's recommend handler: (table as people read it, text); the text says what the score is."""
    def on_recommend(user_id, k, review):
        try:
            view = user_dashboard(components, user_id, k, review)
            if view.table is None:
                return None, view.summary()
            return recommendation_table(view.table), f"{view.summary()}\n\n_{SCORE_NOTE}._"
        except BaseException as e:  # noqa: BLE001
            return None, f"**Could not recommend:** {failure_text(e)}"

    return on_recommend


def default_user(components: Components) -> int:
    """``DEFAULT_USER`` when the recommender knows that user, else its first user id (``DEFAULT_USER`` when there
    is no recommender: its handler then says what is missing)."""
    if not components.available("recommender"):
        return DEFAULT_USER
    try:
        low, high = components.get("recommender").user_id_range()
    except ValueError:  # it failed to load: the recommend handler says why
        return DEFAULT_USER
    return DEFAULT_USER if low <= DEFAULT_USER <= high else low


def dashboard_handler(components: Components):
    """The Dashboard's first view, made on page load: (user id, forecast plot, its text, recommendations, their
    text) for the horizon, variable and count on the page and ``default_user``."""
    on_forecast, on_recommend = forecast_handler(components), recommend_handler(components)

    def on_load(horizon, column, k):
        try:
            user = str(default_user(components))
        except BaseException as e:  # noqa: BLE001  (the recommend handler then answers for the default user)
            failure_text(e)
            user = str(DEFAULT_USER)
        return (user, *on_forecast(horizon, column), *on_recommend(user, k, None))

    return on_load


def read_build_status(status_file):
    """The background build's status (``applied_mlx.build.read_status``), None without a file."""
    from ..build import read_status

    return read_status(status_file) if status_file is not None else None


def status_handler(components: Components, status_file=None):
    """The Status tab's handler: the report (with the background build's progress where one has run), or why it
    could not be made. status_file: the build's status file (None: no build section)."""
    def on_status():
        try:
            table = build_table(components, read_build_status(status_file))
            return components.report() + (f"\n\n{table}" if table else "")
        except BaseException as e:  # noqa: BLE001
            return f"**Could not report the status:** {failure_text(e)}"

    return on_status


def refresh_handler(components: Components, status_file=None):
    """The timer's handler: the status text and the banners of the tabs (``BANNERS``), made afresh; a component
    saved meanwhile is picked up here (``Components.refresh``)."""
    on_status = status_handler(components, status_file)

    def on_tick():
        text = on_status()
        try:
            status = read_build_status(status_file)
            return (text, *(banner(components, key, status) for key in BANNERS))
        except BaseException as e:  # noqa: BLE001
            return (text, *[f"**Could not read the status:** {failure_text(e)}"] * len(BANNERS))

    return on_tick


def chat_endpoint(components: Components):
    """The /chat API endpoint: one message in, the reply (with its route) out. Gradio's ChatInterface cannot
    take a missing message from an API client (it fails after the handler, with a bare error), so clients get
    this plain function and the chat tab keeps its interface."""
    def chat(message: str | None) -> str:
        """The assistant's reply to ``message``, ending with the route it took and why."""
        return chat_text(components, message)

    return chat


def checked_by_handler(component):
    """``component`` with its value passed to the handler as sent, which checks it and answers in words: Gradio's
    own check refuses a missing or out-of-range value from an API client with a bare error. (Set on the instance:
    a subclass of a Gradio component makes Gradio write a ``.pyi`` file next to this module.)"""
    component.preprocess = lambda payload: payload
    return component


def uploaded_as_is(image):
    """``image`` (a ``gr.Image(type="filepath")``) with an upload passed to the handler as the uploaded file, which
    says in words when it is not an image: Gradio's own step opens it with PIL first and answers a text file with
    a bare error. A pasted image (a data URL) still goes through Gradio's step."""
    decode = image.preprocess

    def preprocess(payload):
        if payload is None or (payload.url or "").startswith("data:"):
            return decode(payload)
        return payload.path

    image.preprocess = preprocess
    return image


def build_demo(components: Components | None = None, status_file=None):
    """The Gradio Blocks app over ``components`` (default: found as ``find_artifact_dir`` says, loaded on
    first use). Endpoints: /chat, /classify_image, /forecast, /recommend, /status, and /dashboard (what the
    Dashboard shows on page load).

    status_file: the status file of a background build (``applied_mlx.build``); default the one of builds into
    the components' root. An open page shows its progress and picks up each component the moment it is saved.
    """
    import gradio as gr

    from ..build import status_path

    components = components if components is not None else Components()
    status_file = status_file if status_file is not None else status_path(components.root)
    on_status = status_handler(components, status_file)
    status = read_build_status(status_file)
    banners = {}
    longest = longest_horizon(components)
    with gr.Blocks(title="applied-mlx: Day 6") as demo:
        gr.Markdown("# applied-mlx: one app over Days 1-5\nA chat that routes by intent, an image classifier "
                    "that explains itself, and a dashboard. The Status tab shows what is loaded.")
        with gr.Tab("Chat"):
            banners["assistant"] = gr.Markdown(banner(components, "assistant", status))
            # one copy button per message and none at the top right, where Gradio's share / copy-all toolbar
            # used to cover the first message
            gr.ChatInterface(lambda message, history: chat_text(components, message, history), api_name="chat_tab",
                             api_visibility="private",
                             chatbot=gr.Chatbot(label="assistant", buttons=["copy"], height=520),
                             examples=list(EXAMPLE_MESSAGES.values()), run_examples_on_click=True,
                             cache_examples=False)
            gr.api(chat_endpoint(components), api_name="chat")
        with gr.Tab("Image"):
            banners["image_classifier"] = gr.Markdown(banner(components, "image_classifier", status))
            with gr.Row():
                image_in = uploaded_as_is(gr.Image(label="photo (JPEG, PNG, ...)", type="filepath", image_mode=None,
                                                   sources=["upload", "clipboard"], elem_id="image-input"))
                overlay_out = gr.Image(label="Grad-CAM: where the evidence lies", type="pil")
            label_out = gr.Label(label="probabilities")
            text_out = gr.Markdown(elem_id="image-text")
            gr.Button("Classify", variant="primary").click(image_handler(components), image_in,
                                                          [label_out, overlay_out, text_out], api_name="classify_image")
        with gr.Tab("Dashboard"):
            gr.Markdown("### Day 4: forecast vs actual")
            banners["forecaster"] = gr.Markdown(banner(components, "forecaster", status))
            with gr.Row():
                horizon = checked_by_handler(gr.Slider(1, longest, value=min(DEFAULT_FORECAST_HOURS, longest), step=1,
                                                       label="horizon (hours)"))
                column = gr.Dropdown(ETT_VARIABLES, value="OT", label="variable")
            plot = gr.LinePlot(x="time", y="value", color="series", color_map=FORECAST_COLORS, x_title="time",
                               y_title="reading", color_title="line", label="forecast vs actual (hover for the values)",
                               elem_id="forecast-plot")
            forecast_text = gr.Markdown()
            gr.Button("Forecast").click(forecast_handler(components), [horizon, column], [plot, forecast_text],
                                        api_name="forecast")
            gr.Markdown("### Day 1: recommendations for a user")
            banners["recommender"] = gr.Markdown(banner(components, "recommender", status))
            with gr.Row():
                user = gr.Textbox(value=str(DEFAULT_USER), label="user id")
                k = checked_by_handler(gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="how many"))
                review = gr.Textbox(label="their review (optional): Day 5 reads its sentiment")
            table = gr.Dataframe(headers=list(RECOMMENDATION_COLUMNS), label="recommendations", interactive=False,
                                 wrap=True, column_widths=RECOMMENDATION_WIDTHS, show_row_numbers=True,
                                 datatype=["str", "number", "number", "str", "number"], elem_id="recommendations")
            user_text = gr.Markdown()
            gr.Button("Recommend").click(recommend_handler(components), [user, k, review], [table, user_text],
                                         api_name="recommend")
        with gr.Tab("Status"):
            status_text = gr.Markdown(on_status())
            gr.Button("Refresh").click(on_status, None, status_text, api_name="status")
        demo.load(on_status, None, status_text, api_visibility="private")  # fresh on each page load
        # the page follows the background build: progress, and each component as it arrives
        gr.Timer(STATUS_SECONDS).tick(refresh_handler(components, status_file), None,
                                      [status_text, *(banners[key] for key in BANNERS)], api_visibility="private",
                                      show_progress="hidden")
        # the Dashboard opens filled in: no empty plot and table until two buttons are pressed
        demo.load(dashboard_handler(components), [horizon, column, k], [user, plot, forecast_text, table, user_text],
                  api_name="dashboard")
    demo.queue(default_concurrency_limit=QUEUE_CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


def launch(demo, port: int | None = None, block: bool = True, browser: bool = False) -> str:
    """Serve ``demo`` on 127.0.0.1 (``port``: None lets Gradio pick), uploads capped at ``MAX_UPLOAD``, the state
    of at most ``STATE_SESSIONS`` sessions kept; print and return the local URL.

    block: keep serving until interrupted (False: return at once, serving)."""
    demo.launch(server_name="127.0.0.1", server_port=port, inbrowser=browser, prevent_thread_lock=True, quiet=True,
                max_file_size=MAX_UPLOAD, state_session_capacity=STATE_SESSIONS)
    print(f"Running on local URL: {demo.local_url}", flush=True)
    if block:
        demo.block_thread()
    return demo.local_url

