"""The Day 6 app served on 127.0.0.1 over the smoke artifacts of Days 1-5, driven through gradio_client:
every endpoint, bad inputs (the app answers with a message and stays up), and missing components."""

from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("gradio_client")
from gradio_client import handle_file  # noqa: E402


def test_every_endpoint_is_exposed(client):
    endpoints = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/chat", "/classify_image", "/dashboard", "/forecast", "/recommend", "/status"} <= endpoints


def test_status_lists_the_five_components_with_their_metrics(client):
    text = client.predict(api_name="/status")
    for title in ("Day 1 recommender", "Day 2 image classifier", "Day 3 assistant", "Day 4 forecaster",
                  "Day 5 sentiment"):
        assert title in text
    assert "smoke profile" in text and "nDCG@10" in text and "LSTM test MSE" in text
    assert "missing" not in text and "incompatible" not in text


@pytest.mark.parametrize("message, route, expected", [
    ("recommend me something like Movie 3", "recommend", "because you rated Movie 3 ("),
    ("how does this review sound: the plot was brilliant and moving", "sentiment", "That review sounds"),
    ("what will the load be tomorrow", "forecast", "HUFL"),
    ("what is distilbert?", "question", "knowledge base"),
    ("show me movies for user 7", "recommend", "for user 7"),
])
def test_chat_routes_each_skill_to_its_component(client, message, route, expected):
    reply = client.predict(message, api_name="/chat")
    assert f"route: {route}" in reply, reply
    assert "intent classifier:" in reply  # the route says why: the classifier's intent and confidence
    if route == "question":  # an answer names its source; a miss names the passage it searched
        assert "source:" in reply or "could not find" in reply, reply
    else:
        assert expected in reply, reply


def test_sentiment_reply_carries_both_probabilities(client):
    reply = client.predict("how does this review sound: a dull and lifeless film", api_name="/chat")
    assert "negative" in reply and "positive" in reply and "%" in reply


def test_image_gets_label_probabilities_gradcam_and_words(client, shape_png):
    label, overlay, text = client.predict(handle_file(str(shape_png)), api_name="/classify_image")
    from PIL import Image

    classes = {c["label"] for c in label["confidences"]}
    assert classes == {"circle", "square", "triangle"}  # the smoke classifier's classes, all shown
    assert label["label"] in classes
    assert sum(c["confidence"] for c in label["confidences"]) == pytest.approx(1.0, abs=1e-4)
    with Image.open(overlay) as img:
        assert min(img.size) >= 32
    assert text.startswith(f"I see **{label['label']}**") and "runner-up" in text and "Grad-CAM" in text


def assert_native_line_plot(plot, horizon: int):
    """``plot`` is Gradio's native line plot payload: history, actual and forecast over time, the last two
    ``horizon`` points long after the history point they start from."""
    assert plot["mark"] == "line" and plot["columns"] == ["time", "value", "series"]
    assert plot["datatypes"] == {"time": "temporal", "value": "quantitative", "series": "nominal"}
    counts = Counter(row[2] for row in plot["data"])
    assert set(counts) == {"history", "actual", "forecast"} and counts["history"] > 0
    assert counts["actual"] == counts["forecast"] == horizon + 1
    assert all(isinstance(row[1], (int, float)) and round(row[1], 3) == row[1] for row in plot["data"])


def assert_readable_table(table, rows: int):
    """``table`` has ``rows`` recommendations, each with a title and a reason, and no number with more than
    4 decimals (the raw scores had 18)."""
    assert table["headers"] == ["title", "score (%)", "predicted rating (1-5)", "reason", "item_id"]
    assert len(table["data"]) == rows
    for title, score, rating, reason, item in table["data"]:
        assert title and reason and isinstance(reason, str) and isinstance(item, int)
        assert 0 <= score <= 100 and (rating is None or 1 <= rating <= 5)
        for number in (score, rating):
            assert number is None or len(repr(float(number)).split(".")[1]) <= 4, number


def test_forecast_vs_actual_with_a_horizon(client):
    plot, text = client.predict(24, "OT", api_name="/forecast")
    assert_native_line_plot(plot, 24)
    assert "24 h ahead" in text and "MSE" in text and "repeating the last value" in text
    plot, _ = client.predict(1, "HUFL", api_name="/forecast")
    assert_native_line_plot(plot, 1)  # a 1 h forecast is a segment from the last history point, not a lone point


def test_recommendations_for_a_user_with_the_sentiment_of_their_review(client):
    table, text = client.predict("7", 5, "a wonderful and charming film", api_name="/recommend")
    assert_readable_table(table, 5)
    assert "Top 5 for user 7" in text and "Their review reads" in text and "score: the recommender's chance" in text


def test_an_unknown_user_gets_the_popular_items_formatted_without_predicted_ratings(client):
    table, text = client.predict("99999", 3, "", api_name="/recommend")
    assert_readable_table(table, 3)
    assert [row[2] for row in table["data"]] == [None] * 3 and "Unknown user 99999" in text
    assert all(row[3].startswith("popular: rated by") for row in table["data"])


def test_the_dashboard_opens_with_a_forecast_and_the_default_users_picks(client):
    user, plot, forecast_text, table, user_text = client.predict(24, "OT", 10, api_name="/dashboard")
    assert user == "42"  # the smoke recommender knows users 1-120
    assert_native_line_plot(plot, 24)
    assert "24 h ahead" in forecast_text
    assert_readable_table(table, 10)
    assert "Top 10 for user 42" in user_text and "Their review reads" not in user_text


def test_the_dashboard_opens_on_the_first_known_user_when_there_is_no_user_42(client, app_components, monkeypatch):
    monkeypatch.setattr(app_components.get("recommender"), "user_id_range", lambda: (100, 120))
    user, _, _, table, user_text = client.predict(24, "OT", 5, api_name="/dashboard")
    assert user == "100" and "Top 5 for user 100" in user_text
    assert_readable_table(table, 5)


@pytest.mark.parametrize("call, expected", [
    (lambda c, bad: c.predict(None, api_name="/classify_image")[2], "no image given"),
    (lambda c, bad: c.predict(handle_file(str(bad)), api_name="/classify_image")[2], "not an image"),
    (lambda c, bad: c.predict("   ", api_name="/chat"), "the message is empty"),
    (lambda c, bad: c.predict("99999", 5, "", api_name="/recommend")[1], "Unknown user 99999"),
    (lambda c, bad: c.predict("Frodo", 5, "", api_name="/recommend")[1], "whole number"),
    (lambda c, bad: c.predict("something like Zzyzx Road", api_name="/chat"), "no item titled"),
    (lambda c, bad: c.predict("how does this review sound", api_name="/chat"), "after a colon"),
    (lambda c, bad: c.predict(None, api_name="/chat"), "no message given"),
    (lambda c, bad: c.predict("7", None, "", api_name="/recommend")[1], "a whole number from 1 to 50, got None"),
    (lambda c, bad: c.predict("7", 51, "", api_name="/recommend")[1], "a whole number from 1 to 50, got 51"),
    (lambda c, bad: c.predict(None, "OT", api_name="/forecast")[1], "1 to 48 (the longest trained horizon), got None"),
    (lambda c, bad: c.predict(500, "OT", api_name="/forecast")[1], "1 to 48 (the longest trained horizon), got 500"),
    (lambda c, bad: c.predict(f"forecast the next {'9' * 5_000} hours", api_name="/chat"), "at most 2,000 are read"),
    (lambda c, bad: c.predict(f"forecast the next {'9' * 1_900} hours", api_name="/chat"), "capped at the longest"),
    (lambda c, bad: c.predict("7", 5, "a" * 5_000, api_name="/recommend")[1], "the review is 5,000 characters long"),
], ids=["no image", "non-image file", "empty message", "unknown user", "non-numeric user",
        "unknown title", "review without text", "no message", "no k", "k too large", "no horizon", "horizon too long",
        "5,000-digit horizon", "1,900-digit horizon", "review too long"])
def test_bad_inputs_get_a_clear_message_and_the_app_stays_up(client, tmp_path, call, expected):
    bad = tmp_path / "notes.png"  # a text file wearing an image's name
    bad.write_text("these are not pixels")
    assert expected in call(client, bad)
    assert "Day 1 recommender" in client.predict(api_name="/status")  # still serving


def test_missing_and_incompatible_components_say_which_notebook_to_run(partial_client):
    status = partial_client.predict(api_name="/status")
    assert "Day 4 forecaster** (Day4_TimeSeries): **missing**" in status
    assert "Day4_TimeSeries/time_series.ipynb" in status
    assert "Day 2 image classifier** (Day2_ImageClassification): **incompatible**" in status
    assert "schema_version 99" in status
    plot, text = partial_client.predict(24, "OT", api_name="/forecast")
    assert plot is None and "Could not forecast" in text and "time_series.ipynb" in text
    user, plot, forecast_text, table, user_text = partial_client.predict(24, "OT", 10, api_name="/dashboard")
    assert plot is None and "Could not forecast" in forecast_text and "time_series.ipynb" in forecast_text
    assert user == "42" and len(table["data"]) == 10 and "Top 10 for user 42" in user_text  # Day 1 is there
    reply = partial_client.predict("what will the load be tomorrow", api_name="/chat")
    assert "route: forecast" in reply and "time_series.ipynb" in reply
    _, _, text = partial_client.predict(None, api_name="/classify_image")
    assert "no image given" in text


def test_the_present_components_still_work_when_others_are_missing(partial_client):
    reply = partial_client.predict("how does this review sound: truly superb", api_name="/chat")
    assert "route: sentiment" in reply and "That review sounds" in reply



class PanicException(BaseException):
    """Stands in for pyo3's PanicException (raised by the Rust tokenizers), which is not an Exception."""


def test_a_panic_inside_a_component_is_answered_and_the_app_stays_up(client, app_components, monkeypatch):
    def panics(*args, **kwargs):
        raise PanicException("called `Option::unwrap()` on a `None` value")

    client.predict("what is distilbert?", api_name="/chat")  # loads the assistant
    monkeypatch.setattr(app_components.get("assistant"), "answer", panics)
    reply = client.predict("what is distilbert?", api_name="/chat")
    assert reply.startswith("Sorry: the request failed inside the app (PanicException)") and "route: question" in reply
    monkeypatch.setattr(app_components.get("sentiment"), "predict", panics)
    _, text = client.predict("7", 5, "a fine film", api_name="/recommend")
    assert "Could not recommend:** the request failed inside the app (PanicException)" in text
    monkeypatch.undo()
    assert "the request failed" not in client.predict("what is distilbert?", api_name="/chat")  # served again
    assert "Day 1 recommender" in client.predict(api_name="/status")


@pytest.fixture
def without_day5(make_root):
    """Components over Days 1-4 as saved, Day 5 absent."""
    from applied_mlx.app import Components

    return Components(make_root(left_out=("Day5_Sentiment",)))


def test_the_dashboard_without_day5_gives_the_picks_and_says_what_is_missing(without_day5):
    from applied_mlx import app

    view = app.user_dashboard(without_day5, 1, 5, "a wonderful, moving film")
    assert len(view.table) == 5 and view.note == "Top 5 for user 1." and view.sentiment is None
    summary = view.summary()
    assert "The review was not read" in summary and "Day5_Sentiment/sentiment.ipynb" in summary
    assert "Their review reads" not in summary


def test_every_flow_answers_with_any_subset_of_components(without_day5, tmp_path, shape_png):
    from applied_mlx import app

    empty = app.Components(tmp_path / "nothing")
    for components in (without_day5, empty):
        for message in [*app.EXAMPLE_MESSAGES.values(), "hello", "is this an ant or a bee", "movies for user 7"]:
            assert "route:" in app.chat_text(components, message)
        view = app.user_dashboard(components, 1, 5, "a fine film")
        assert view.summary() and (view.table is not None) == components.available("recommender")
    assert "Day1_Recommendation/recommendation.ipynb" in app.user_dashboard(empty, 1, 5).summary()
    for flow in (lambda c: app.classify_image(c, shape_png), lambda c: app.forecast_vs_actual(c, 24)):
        with pytest.raises(app.ComponentUnavailable, match="To fix: run"):
            flow(empty)


def test_building_the_app_writes_no_file_into_the_package(tmp_path):
    from applied_mlx.app import Components, build_demo

    package = Path(app_module_file()).parent
    before = sorted(p.name for p in package.iterdir() if p.name != "__pycache__")
    build_demo(Components(tmp_path))  # Gradio writes a .pyi stub beside any module that subclasses a component
    assert sorted(p.name for p in package.iterdir() if p.name != "__pycache__") == before


def app_module_file() -> str:
    import applied_mlx.app

    return applied_mlx.app.__file__
