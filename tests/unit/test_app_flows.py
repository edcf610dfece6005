"""The Day 6 flows without Gradio or trained models: the router, the parsers, the explanation in words,
and the loader's report for missing and damaged components."""

import json

import numpy as np
import pytest

from applied_mlx import app


# ------------------------------------------------------------------------------------------ routing
@pytest.mark.parametrize("message, skill", [
    ("recommend me something like Star Wars", "recommend"),
    ("how does this review sound: the plot was dull", "sentiment"),
    ("what will the load be tomorrow", "forecast"),
    ("forecast the next 48 hours", "forecast"),
    ("is this an ant or a bee", "image"),
    ("what is distilbert?", "question"),
    ("who published squad", "question"),
    ("show me films like Fargo", "recommend"),
    ("hello there", None),
    ("book a flight to paris", None),
])
def test_keyword_cues(message, skill):
    cue = app.keyword_cue(message)
    assert (cue[0] if cue else None) == skill


def test_a_sure_classifier_decides_even_against_a_cue():
    r = app.decide_route("forecast", 0.8, False, ("question", "what"))
    assert r.skill == "forecast" and "intent classifier: forecast (80%) >= 50%" in r.reason


def test_a_cue_decides_when_the_classifier_is_below_the_routing_confidence():
    r = app.decide_route("question", 0.3, False, ("sentiment", "review"))
    assert r.skill == "sentiment"
    assert r.reason == "intent classifier: question (30%) < 50%, so the keyword cue 'review' decides: sentiment"


def test_a_cue_overrides_out_of_scope_however_sure():
    r = app.decide_route("out_of_scope", 0.7, False, ("forecast", "the load"))
    assert r.skill == "forecast" and "names a skill" in r.reason


def test_without_a_cue_the_classifier_stands_or_is_not_sure():
    assert app.decide_route("greeting", 0.3, False, None).skill == "greeting"
    assert app.decide_route("greeting", 0.1, True, None).skill == "not_sure"
    assert app.decide_route("out_of_scope", 0.9, False, None).skill == "out_of_scope"


def test_without_day3_only_the_cues_route():
    assert app.decide_route(None, None, True, ("recommend", "recommend")).skill == "recommend"
    r = app.decide_route(None, None, True, None)
    assert r.skill == "unknown" and "Day 3 missing" in r.reason


def test_an_agreeing_cue_is_mentioned():
    r = app.decide_route("recommend", 0.9, False, ("recommend", "something like"))
    assert "keyword cue 'something like' agrees" in r.reason


# ------------------------------------------------------------------------------------------ parsers
@pytest.mark.parametrize("message, title", [
    ("recommend me something like Star Wars", "Star Wars"),
    ("something similar to The Godfather?", "The Godfather"),
    ("I loved Toy Story, what else?", "Toy Story"),
    ("films like 'Fargo (1996)' please", "Fargo (1996)"),
    ("recommend me something like Movie 3", "Movie 3"),
    ("something like the movie Heat", "Heat"),
    ("recommend me a movie", None),
])
def test_extract_title(message, title):
    assert app.extract_title(message) == title


def test_extract_user_id_and_review():
    assert app.extract_user_id("movies for user 42") == 42
    assert app.extract_user_id("for user #7 please") == 7
    assert app.extract_user_id("recommend me a movie") is None
    assert app.extract_review("how does this review sound: it was great") == "it was great"
    assert app.extract_review('is "a dull film" positive') == "a dull film"
    assert app.extract_review("how does this review sound") is None
    assert app.extract_review("how does this review sound:   ") is None


@pytest.mark.parametrize("message, hours", [
    ("what will the load be tomorrow", 24), ("forecast the next 48 hours", 48), ("the next 3 days", 72),
    ("next week please", 168), ("what happens next hour", 1), ("forecast the load", 24),
])
def test_parse_horizon(message, hours):
    assert app.parse_horizon(message) == hours


def test_parse_user_id_and_check_horizon():
    assert app.parse_user_id("42") == 42 and app.parse_user_id(42.0) == 42 and app.parse_user_id(" 7 ") == 7
    for bad in ("", None, "Frodo", 4.5, True):
        with pytest.raises(ValueError):
            app.parse_user_id(bad)
    assert app.check_horizon(24.0, 96) == 24
    for bad in (0, 97, 2.5, "24", True):
        with pytest.raises(ValueError, match="from 1 to 96"):
            app.check_horizon(bad, 96)


# ------------------------------------------------------------------------------------------ explanation
def test_confidence_words():
    assert [app.confidence_words(p) for p in (0.95, 0.75, 0.55, 0.4)] == [
        "very sure", "fairly sure", "leaning that way, not sure", "unsure"]


def test_heatmap_region_finds_the_hot_corner():
    heat = np.zeros((30, 30))
    heat[:8, 22:] = 1.0
    place, share = app.heatmap_region(heat)
    assert place == "upper right" and share == pytest.approx(8 * 8 / 900)
    assert app.heatmap_region(np.zeros((4, 4))) == ("nowhere in particular", 0.0)
    centre = np.zeros((9, 9))
    centre[3:6, 3:6] = 1
    assert app.heatmap_region(centre)[0] == "centre"
    with pytest.raises(ValueError):
        app.heatmap_region(np.zeros(5))


def test_describe_prediction_names_label_confidence_runner_up_and_place():
    heat = np.zeros((10, 10))
    heat[7:, :3] = 1
    text = app.describe_prediction({"ants": 0.3, "bees": 0.7}, heat)
    assert text == ("I see **bees** (70%: fairly sure). The runner-up is ants at 30%, well behind. "
                    "The evidence for bees lies in the lower left of the picture (the hot area of the "
                    "Grad-CAM map covers 9% of it).")
    close = app.describe_prediction({"a": 0.45, "b": 0.4, "c": 0.15})
    assert "(45%: unsure)" in close and "runner-up is b at 40%, a close call" in close
    assert app.describe_prediction({"only": 1.0}) == "I see **only** (100%: very sure)."
    with pytest.raises(ValueError):
        app.describe_prediction({})


# ------------------------------------------------------------------------------------------ loading
def test_key_metrics_picks_the_headline_numbers():
    spec = app.SPECS["forecaster"]
    assert app.key_metrics(spec, {"lstm_mse_h96": 0.3747, "lstm_mse_h192": 0.41, "other": 1}) == {
        "LSTM test MSE": "H=96 0.375, H=192 0.410"}
    assert app.key_metrics(app.SPECS["sentiment"], {"dev": {"accuracy": 0.88}}) == {"dev accuracy": "0.880"}
    assert app.key_metrics(app.SPECS["sentiment"], {}) == {}


def test_find_artifact_dir_prefers_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("APPLIED_MLX_ARTIFACTS", str(tmp_path))
    assert app.find_artifact_dir("Day1_Recommendation") == tmp_path / "Day1_Recommendation"
    assert app.find_artifact_dir("Day1_Recommendation", root="/x") == app.Path("/x/Day1_Recommendation")


def test_find_artifact_dir_from_a_day_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("APPLIED_MLX_ARTIFACTS", raising=False)
    (tmp_path / "Day4_TimeSeries" / "artifacts").mkdir(parents=True)
    (tmp_path / "Day6_Multimodal").mkdir()
    monkeypatch.chdir(tmp_path / "Day6_Multimodal")  # where the Day 6 notebook runs
    assert app.find_artifact_dir("Day4_TimeSeries") == tmp_path / "Day4_TimeSeries" / "artifacts"


def test_missing_and_damaged_components_are_reported_with_the_notebook_to_run(tmp_path):
    day2 = tmp_path / "Day2_ImageClassification"
    day2.mkdir()
    (day2 / "config.json").write_text(json.dumps({"schema_version": 99, "component": "image_classifier"}))
    components = app.Components(tmp_path)
    assert components.statuses["recommender"].state == "missing"
    assert components.statuses["image_classifier"].state == "incompatible"
    report = components.report()
    assert "Day1_Recommendation/recommendation.ipynb" in report and "schema_version 99" in report
    with pytest.raises(app.ComponentUnavailable, match="Day4_TimeSeries/time_series.ipynb"):
        components.get("forecaster")
    with pytest.raises(ValueError, match="unknown component"):
        components.get("nope")


def test_chat_without_components_routes_by_cue_and_says_what_to_run(tmp_path):
    components = app.Components(tmp_path)
    answer = app.chat(components, "what will the load be tomorrow")
    assert answer.route.skill == "forecast" and "time_series.ipynb" in answer.text
    assert "no intent classifier" in app.format_chat(answer)
    assert app.chat(components, "hello").route.skill == "unknown"
    with pytest.raises(ValueError, match="empty"):
        app.chat(components, "  ")
    assert app.chat_text(components, "").startswith("Sorry: the message is empty")


def test_a_load_failure_is_reported_not_raised(tmp_path):
    day5 = tmp_path / "Day5_Sentiment"
    (day5 / "model").mkdir(parents=True)  # the config says a model folder is there, but it is empty
    (day5 / "config.json").write_text(json.dumps({"schema_version": 1, "component": "sentiment",
                                                  "label_names": ["negative", "positive"], "max_length": 16,
                                                  "temperature": 1.0, "weights": ["model/"], "files": []}))
    components = app.Components(tmp_path, keys=["sentiment"])
    assert components.statuses["sentiment"].state == "not loaded"
    with pytest.raises(app.ComponentUnavailable, match="incompatible"):
        components.get("sentiment")
    assert components.statuses["sentiment"].state == "incompatible"


def test_percentile_and_time_ms():
    assert app.percentile([3, 1, 2], 50) == 2
    assert app.percentile([0, 10], 95) == pytest.approx(9.5)
    with pytest.raises(ValueError):
        app.percentile([], 50)
    calls = []
    times = app.time_ms(lambda: calls.append(1), 3)
    assert len(times) == 3 and len(calls) == 4 and all(t >= 0 for t in times)  # one warm-up call
