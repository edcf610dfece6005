"""The Day 6 app served on 127.0.0.1 over the smoke artifacts of Days 1-5, driven through gradio_client:
every endpoint, bad inputs (the app answers with a message and stays up), and missing components."""

import pytest

pytest.importorskip("gradio_client")
from gradio_client import handle_file  # noqa: E402


def test_every_endpoint_is_exposed(client):
    endpoints = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/chat", "/classify_image", "/forecast", "/recommend", "/status"} <= endpoints


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


def test_forecast_vs_actual_with_a_horizon(client):
    plot, text = client.predict(24, "OT", api_name="/forecast")
    assert plot and plot["type"] == "matplotlib" and plot["plot"].startswith("data:image")
    assert "24 h ahead" in text and "MSE" in text and "repeating the last value" in text


def test_recommendations_for_a_user_with_the_sentiment_of_their_review(client):
    table, text = client.predict("7", 5, "a wonderful and charming film", api_name="/recommend")
    assert table["headers"][:3] == ["item_id", "title", "score"] and len(table["data"]) == 5
    assert "Top 5 for user 7" in text and "Their review reads" in text


@pytest.mark.parametrize("call, expected", [
    (lambda c, bad: c.predict(None, api_name="/classify_image")[2], "no image given"),
    (lambda c, bad: c.predict(handle_file(str(bad)), api_name="/classify_image")[2], "not an image"),
    (lambda c, bad: c.predict("   ", api_name="/chat"), "the message is empty"),
    (lambda c, bad: c.predict("99999", 5, "", api_name="/recommend")[1], "Unknown user 99999"),
    (lambda c, bad: c.predict("Frodo", 5, "", api_name="/recommend")[1], "whole number"),
    (lambda c, bad: c.predict("something like Zzyzx Road", api_name="/chat"), "no item titled"),
    (lambda c, bad: c.predict("how does this review sound", api_name="/chat"), "after a colon"),
], ids=["no image", "non-image file", "empty message", "unknown user", "non-numeric user",
        "unknown title", "review without text"])
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
    _, text = partial_client.predict(24, "OT", api_name="/forecast")
    assert "Could not forecast" in text and "time_series.ipynb" in text
    reply = partial_client.predict("what will the load be tomorrow", api_name="/chat")
    assert "route: forecast" in reply and "time_series.ipynb" in reply
    _, _, text = partial_client.predict(None, api_name="/classify_image")
    assert "no image given" in text


def test_the_present_components_still_work_when_others_are_missing(partial_client):
    reply = partial_client.predict("how does this review sound: truly superb", api_name="/chat")
    assert "route: sentiment" in reply and "That review sounds" in reply

