"""The Day 6 flows without Gradio or trained models: the router, the parsers, the explanation in words,
the loader's report for missing and damaged components, the bounds on one request's work, and what a
request gets back when something inside fails."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from applied_mlx import app, assistant

ROOT = Path(__file__).resolve().parents[2]


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


def test_one_routing_rule_for_day3_and_the_app():
    # the app adds handlers; the rule, the cues and the threshold are Day 3's
    assert app.decide_route is assistant.decide_route and app.keyword_cue is assistant.keyword_cue
    assert app.CUES is assistant.CUES and app.ROUTE_CONFIDENCE == assistant.ROUTE_CONFIDENCE


def test_route_message_with_and_without_a_classifier():
    def unsure(texts):
        return [{"intent": "out_of_scope", "confidence": 0.2, "unsure": True} for _ in texts]

    def sure(texts):
        return [{"intent": "greeting", "confidence": 0.9, "unsure": False} for _ in texts]

    assert assistant.route_message("what will the load be tomorrow", unsure).skill == "forecast"
    assert assistant.route_message("hello", unsure).skill == "not_sure"
    assert assistant.route_message("what will the load be tomorrow", sure).skill == "greeting"
    r = assistant.route_message("what will the load be tomorrow")
    assert r.skill == "forecast" and "no intent classifier" in r.reason


def test_day3_reply_routes_by_the_same_rule():
    from types import SimpleNamespace

    def unsure(texts):
        return [{"intent": "out_of_scope", "confidence": 0.2, "unsure": True} for _ in texts]

    day3 = SimpleNamespace(classify=unsure, answer=lambda message: {"answer": "a small BERT", "sources": []})
    reply = assistant.Assistant.reply(day3, "what will the load be tomorrow")  # a cue decides, as in the app
    assert reply.text == assistant.SKILL_REPLIES["forecast"] and reply.route.skill == "forecast"
    shown = assistant.format_reply(reply)
    assert "_route: forecast: intent classifier: out_of_scope (20%), but the keyword cue" in shown
    assert assistant.Assistant.reply(day3, "what is distilbert?").text == "a small BERT"
    assert assistant.Assistant.reply(day3, "hello").text == assistant.NOT_SURE


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
    assert app.find_artifact_dir("Day1_Recommendation", root="/x") == Path("/x/Day1_Recommendation")


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


# ------------------------------------------------------------------------------------------ import
def test_importing_the_app_builds_nothing_reads_no_artifact_and_imports_no_gradio_or_torch(tmp_path):
    day = tmp_path / "artifacts" / "Day1_Recommendation"
    day.mkdir(parents=True)
    (day / "config.json").write_text(json.dumps({"schema_version": 1, "component": "day1-recommender"}))
    code = ("import json, sys\n"
            "opened = []\n"
            "sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == 'open' else None)\n"
            "import applied_mlx.app\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'gradio', 'torch', 'transformers', 'numpy'})\n"
            "print(json.dumps({'opened': opened, 'heavy': heavy, 'prefixes': [sys.prefix, sys.base_prefix],\n"
            "                  'package': str(__import__('pathlib').Path(applied_mlx.__file__).parent)}))\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "APPLIED_MLX_ARTIFACTS": str(tmp_path / "artifacts"),
           "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc written: the only opens are reads
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["heavy"] == []
    allowed = [*seen["prefixes"], seen["package"]]
    outside = [f for f in seen["opened"] if not any(f.startswith(p + "/") for p in allowed)]
    assert outside == []  # the package's own modules and the standard library only: no config.json read


# ------------------------------------------------------------------------------------------ damaged artifacts
def _write_day(root: Path, day: str, config: bytes, metrics: bytes | None = None) -> Path:
    folder = root / day
    folder.mkdir(parents=True)
    (folder / "config.json").write_bytes(config)
    if metrics is not None:
        (folder / "metrics.json").write_bytes(metrics)
    return folder


GOOD_CONFIG = json.dumps({"schema_version": 1, "component": "sentiment", "weights": [], "files": []}).encode()


@pytest.mark.parametrize("config, metrics, expected", [
    (b"[1, 2]", None, ""),
    (b'{"schema_version": 1, "component": "\xff\xfe"}', None, ""),
    (GOOD_CONFIG, b"[0.1]", "metrics.json"),
    (b"\x00\x01 not json", None, "config"),
], ids=["config is a list", "config is not UTF-8", "metrics is a list", "config is binary"])
def test_a_damaged_folder_is_reported_and_the_others_still_count(tmp_path, config, metrics, expected):
    _write_day(tmp_path, "Day5_Sentiment", config, metrics)
    components = app.Components(tmp_path)  # must not raise, whatever the folder holds
    status = components.statuses["sentiment"]
    assert status.state == "incompatible" and expected in status.error
    report = components.report()  # the Status tab: every line renders
    assert "Day 5 sentiment** (Day5_Sentiment): **incompatible**" in report
    assert "Day5_Sentiment/sentiment.ipynb" in report
    assert components.statuses["recommender"].state == "missing"


def test_key_metrics_tolerates_metrics_that_are_not_a_dict():
    for bad in ([0.1], "0.1", None, 3):
        assert app.key_metrics(app.SPECS["forecaster"], bad) == {}
        assert app.key_metrics(app.SPECS["sentiment"], bad) == {}


class PanicException(BaseException):
    """Stands in for pyo3's PanicException (the Rust tokenizers' panic), which is not an Exception."""


def test_a_loader_that_panics_marks_its_component_incompatible(tmp_path, monkeypatch):
    import dataclasses

    day5 = _write_day(tmp_path, "Day5_Sentiment", GOOD_CONFIG)

    def panics(path):
        raise PanicException("tokenizer exploded")

    monkeypatch.setitem(app.SPECS, "sentiment", dataclasses.replace(app.SPECS["sentiment"], loader=panics))
    components = app.Components(tmp_path)
    assert components.statuses["sentiment"].path == day5
    with pytest.raises(app.ComponentUnavailable, match="PanicException: tokenizer exploded"):
        components.get("sentiment")
    assert components.statuses["sentiment"].state == "incompatible"
    with pytest.raises(KeyboardInterrupt):  # an interrupt is not swallowed
        monkeypatch.setitem(app.SPECS, "sentiment", dataclasses.replace(
            app.SPECS["sentiment"], loader=lambda path: (_ for _ in ()).throw(KeyboardInterrupt())))
        app.Components(tmp_path).get("sentiment")


# ------------------------------------------------------------------------------------------ failures in a request
@pytest.fixture
def no_components(tmp_path):
    return app.Components(tmp_path / "nothing here")


def test_a_panic_inside_a_chat_skill_becomes_a_reply_and_is_logged(no_components, monkeypatch, caplog):
    def panics(components, message):
        raise PanicException("index out of bounds")

    monkeypatch.setitem(app.SKILL_HANDLERS, "question", panics)
    with caplog.at_level(logging.ERROR, logger="applied_mlx.app"):
        text = app.chat_text(no_components, "what is distilbert?")
    assert text.startswith("Sorry: the request failed inside the app (PanicException)") and "route: question" in text
    assert any(r.exc_info and r.exc_info[0] is PanicException for r in caplog.records)


def test_a_crash_in_routing_still_gets_an_answer(no_components, monkeypatch):
    def crashes(components, message):
        raise RuntimeError("boom")

    monkeypatch.setattr(sys.modules["applied_mlx.app.routing"], "route", crashes)
    assert app.chat_text(no_components, "hello").startswith("Sorry: the request failed inside the app (RuntimeError)")


def test_the_ui_handlers_answer_whatever_the_flow_raises(no_components, monkeypatch):
    from applied_mlx.app import ui

    def panics(*args, **kwargs):
        raise PanicException("boom")

    for name in ("classify_image", "forecast_vs_actual", "user_dashboard"):
        monkeypatch.setattr(ui, name, panics)
    assert "the request failed inside the app (PanicException)" in ui.image_handler(no_components)("x.png")[2]
    assert "the request failed inside the app (PanicException)" in ui.forecast_handler(no_components)(24, "OT")[1]
    assert "the request failed inside the app (PanicException)" in ui.recommend_handler(no_components)("1", 5, "")[1]
    monkeypatch.setattr(ui, "classify_image", lambda *a: (_ for _ in ()).throw(SystemExit(3)))
    with pytest.raises(SystemExit):
        ui.image_handler(no_components)("x.png")


# ------------------------------------------------------------------------------------------ bounds on a request
@pytest.mark.parametrize("message, expected", [
    (None, "no message given"), ("   ", "the message is empty"), (42, "must be text"),
    ("a" * 2_001, "2,001 characters long; at most 2,000"),
])
def test_a_bad_message_gets_a_sentence_saying_what_was_wrong(no_components, message, expected):
    text = app.chat_text(no_components, message)
    assert text.startswith("Sorry: ") and expected in text
    with pytest.raises(ValueError, match=expected):
        app.chat(no_components, message)


def test_check_k_bounds_the_number_of_recommendations():
    assert app.check_k(5) == 5 and app.check_k(50.0) == 50
    for bad in (None, 0, 51, 2.5, "5", True):
        with pytest.raises(ValueError, match="from 1 to 50"):
            app.check_k(bad)


def test_a_huge_number_of_hours_is_read_as_past_any_horizon_not_an_int_conversion_error():
    assert app.parse_horizon("forecast the next " + "9" * 5_000 + " hours") == 999_999
    assert app.parse_horizon("forecast the next " + "9" * 5_000 + " days") == 999_999 * 24
    with pytest.raises(ValueError, match="at most 9 digits"):
        app.extract_user_id("movies for user " + "7" * 5_000)


def test_user_ids_typed_as_text_are_bounded():
    with pytest.raises(ValueError, match="at most 32 characters"):
        app.parse_user_id("1" * 5_000)


# ------------------------------------------------------------------------------------------ the forecaster's data
@pytest.fixture
def tiny_forecaster(tmp_path):
    """A Components whose Day 4 folder holds a tiny untrained forecaster; ``data`` names its series."""
    import torch

    from applied_mlx import forecasting as fc

    def make(data: str):
        frame = fc.synthetic_series(300, seed=1)
        args = dict(lookback=48, num_channels=len(fc.ETT_COLUMNS), patch_len=12, hidden_size=8)
        torch.manual_seed(0)
        fc.save_forecaster(tmp_path / data / "Day4_TimeSeries", {24: fc.LSTMForecaster(horizon=24, **args)},
                           scaler=fc.StandardScaler.fit(frame.values), columns=fc.ETT_COLUMNS, lookback=48,
                           model_args=args, metrics={"lstm_mse_h24": 1.0}, profile="smoke", data=data)
        return app.Components(tmp_path / data, keys=["forecaster"])

    return make


def test_a_failed_etth1_read_is_remembered_and_shown_in_the_status(tiny_forecaster, monkeypatch):
    from applied_mlx import forecasting as fc

    components = tiny_forecaster("ETTh1")
    reads = []

    def unreadable(path=None):
        reads.append(path)
        raise OSError("offline and no mirror")

    monkeypatch.setattr(fc, "load_etth1", unreadable)
    for _ in range(3):
        with pytest.raises(app.ComponentUnavailable, match="ETTh1 could not be read"):
            app.forecast_vs_actual(components, 24, plot=False)
    assert len(reads) == 1  # not retried on every request
    status = components.statuses["forecaster"]
    assert status.state == "no data" and "offline and no mirror" in status.error
    assert "ETTh1 could not be read" in components.report() and "APPLIED_MLX_MIRROR" in components.report()
    assert "ETTh1 could not be read" in app.chat_text(components, "what will the load be tomorrow")


def test_a_forecast_for_a_huge_horizon_is_capped(tiny_forecaster):
    components = tiny_forecaster("synthetic")
    text = app.chat_text(components, "forecast the next " + "9" * 1_500 + " hours")  # within the message cap
    assert "capped at the longest trained horizon, 24 h" in text
    text = app.chat_text(components, "forecast the next " + "9" * 5_000 + " hours")
    assert "at most 2,000 are read" in text and "limit" not in text  # not Python's int-conversion message
    view = app.forecast_vs_actual(components, 24, plot=False)
    assert view.forecast.shape == (24, 7) and view.mse >= 0 and view.naive_mse >= 0
    assert "all 7 variables" in app.forecast_summary(view)


# ------------------------------------------------------------------------------------------ the dashboard for people
def test_the_recommendation_table_shows_scores_as_percentages_and_keeps_every_reason():
    import pandas as pd

    from applied_mlx.app.flows import RECOMMENDATION_COLUMNS, recommendation_table

    raw = pd.DataFrame({"item_id": [64, 37], "title": ["Movie 64", "Movie 37"],
                        "score": [0.009934161781050364, 0.391666666666667], "predicted_rating": [2.8412345, None],
                        "reason": ["because you rated Movie 80 (Adventure) 4/5", "popular: rated by 39% of users"]})
    table = recommendation_table(raw)
    assert tuple(table.columns) == RECOMMENDATION_COLUMNS
    assert table.to_dict("records") == [
        {"title": "Movie 64", "score (%)": 0.99, "predicted rating (1-5)": 2.84,
         "reason": "because you rated Movie 80 (Adventure) 4/5", "item_id": 64},
        {"title": "Movie 37", "score (%)": 39.17, "predicted rating (1-5)": None,
         "reason": "popular: rated by 39% of users", "item_id": 37}]
    cold = recommendation_table(raw.drop(columns="predicted_rating"))  # the popular items carry no rating
    assert list(cold["predicted rating (1-5)"]) == [None, None]
    with pytest.raises(ValueError, match=r"\['reason'\] missing"):
        recommendation_table(raw.drop(columns="reason"))


def test_the_forecast_frame_is_long_format_with_the_forecast_joined_to_the_history(tiny_forecaster):
    from applied_mlx.app.flows import forecast_frame

    view = app.forecast_vs_actual(tiny_forecaster("synthetic"), 24, "HUFL", plot=False)
    frame = forecast_frame(view)
    assert list(frame.columns) == ["time", "value", "series"]
    lines = {name: part for name, part in frame.groupby("series")}
    assert set(lines) == {"history", "actual", "forecast"} and len(lines["history"]) == len(view.history) == 48
    last = lines["history"].iloc[-1]
    for name, values in (("actual", view.actual["HUFL"]), ("forecast", view.forecast["HUFL"])):
        line = lines[name]
        assert len(line) == 25 and (line["time"].iloc[0], line["value"].iloc[0]) == (last["time"], last["value"])
        assert list(line["time"].iloc[1:]) == list(view.actual.index)
        assert np.allclose(line["value"].iloc[1:], values.to_numpy(), atol=5e-4)
    assert (frame["value"].round(3) == frame["value"]).all()
    view.history = None
    with pytest.raises(ValueError, match="no history rows"):
        forecast_frame(view)


def test_the_dashboard_on_load_says_what_is_missing_without_components(no_components):
    from applied_mlx.app import ui

    user, plot, forecast_text, table, user_text = ui.dashboard_handler(no_components)(24, "OT", 10)
    assert user == "42" and plot is None and table is None
    assert "Could not forecast" in forecast_text and "Day4_TimeSeries/time_series.ipynb" in forecast_text
    assert "No recommendations" in user_text and "Day1_Recommendation/recommendation.ipynb" in user_text


def test_the_dashboard_on_load_answers_whatever_the_flows_raise(no_components, monkeypatch):
    from applied_mlx.app import ui

    def panics(*args, **kwargs):
        raise PanicException("boom")

    for name in ("forecast_vs_actual", "user_dashboard", "default_user"):
        monkeypatch.setattr(ui, name, panics)
    user, plot, forecast_text, table, user_text = ui.dashboard_handler(no_components)(24, "OT", 10)
    assert user == "42" and plot is None and table is None
    assert "the request failed inside the app (PanicException)" in forecast_text
    assert "the request failed inside the app (PanicException)" in user_text
