"""Fault injection: the app started on copies of the smoke artifacts with one component's folder damaged in
each way a folder gets damaged. The app must start, the Status tab must name the broken component and why,
its tabs and chat route must say what to run, and the other four must answer. One case starts the app as a
user does, ``python -m applied_mlx.app``, in a subprocess."""

import json
import os
import time
from pathlib import Path

import pytest

pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

TITLES = {"recommender": "Day 1 recommender", "image_classifier": "Day 2 image classifier",
          "assistant": "Day 3 assistant", "forecaster": "Day 4 forecaster", "sentiment": "Day 5 sentiment"}
DAYS = {"recommender": "Day1_Recommendation", "image_classifier": "Day2_ImageClassification",
        "assistant": "Day3_Chatbot", "forecaster": "Day4_TimeSeries", "sentiment": "Day5_Sentiment"}


def non_dict_config(folder: Path) -> None:
    (folder / "config.json").write_text("[1, 2]")


def bad_utf8_config(folder: Path) -> None:
    (folder / "config.json").write_bytes((folder / "config.json").read_bytes().replace(b'"', b'\xff"', 1))


def truncated_weights(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:weights.stat().st_size // 2])


def missing_file(folder: Path) -> None:
    (folder / "knowledge_base.json").unlink()


def wrong_shapes(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    for model in config["models"].values():
        model["hidden_size"] *= 2  # the models built from the config no longer fit the weights
    (folder / "config.json").write_text(json.dumps(config))


def extra_pickle(folder: Path) -> None:
    # not a pickle at all: whatever reads it must fail, and nothing may read it while model.safetensors is there
    (folder / "model" / "pytorch_model.bin").write_bytes(os.urandom(2048))


# (damage, broken component, words its status must show)
CASES = {
    "non-dict config": (non_dict_config, "image_classifier", "not a JSON object"),
    "config not UTF-8": (bad_utf8_config, "sentiment", "not UTF-8"),
    "truncated safetensors": (truncated_weights, "recommender", "safetensors"),
    "missing file": (missing_file, "assistant", "knowledge_base.json"),
    "wrong shapes": (wrong_shapes, "forecaster", "shape"),
    "extra pytorch_model.bin": (extra_pickle, "sentiment", "pytorch_model.bin"),
}


def status_lines(status: str) -> dict[str, str]:
    """Component key -> its line of the Status tab."""
    return {key: next(line for line in status.splitlines() if f"**{title}**" in line) for key, title in TITLES.items()}


def check_app(client: Client, broken: str, words: str | None, png: Path) -> None:
    """The broken component is named with its error and fix; every other one is loaded and answers."""
    lines = status_lines(client.predict(api_name="/status"))
    assert "**incompatible**" in lines[broken] and words in lines[broken], lines[broken]
    assert f"{DAYS[broken]}/" in lines[broken]  # the notebook to run
    for key, line in lines.items():
        if key != broken:
            assert ": loaded" in line, line
    working = {key for key in TITLES if key != broken or ": loaded" in lines[broken]}
    answers = {
        "recommender": lambda: client.predict("7", 5, "", api_name="/recommend")[1],
        "image_classifier": lambda: client.predict(handle_file(str(png)), api_name="/classify_image")[2],
        "assistant": lambda: client.predict("what is distilbert?", api_name="/chat"),
        "forecaster": lambda: client.predict(24, "OT", api_name="/forecast")[1],
        "sentiment": lambda: client.predict("how does this review sound: a superb film", api_name="/chat"),
    }
    good = {"recommender": "Top 5 for user 7", "image_classifier": "I see **", "assistant": "route: question",
            "forecaster": "24 h ahead", "sentiment": "That review sounds"}
    for key, call in answers.items():
        text = call()
        if key in working:
            assert good[key] in text and "Sorry" not in text and "Could not" not in text, text
        else:
            assert f"{DAYS[broken]}/" in text, text  # the broken one's tab or route says what to run


@pytest.mark.parametrize("case", [c for c in CASES if c != "non-dict config"])
def test_one_damaged_component_leaves_the_others_serving(case, make_root, serve_app, shape_png):
    from applied_mlx.app import load_components

    damage, broken, words = CASES[case]
    root = make_root(copied=(DAYS[broken],))
    damage(root / DAYS[broken])
    url = serve_app(load_components(root))  # loaded first, as python -m applied_mlx.app does
    check_app(Client(url, verbose=False), broken, words, shape_png)


def test_python_m_applied_mlx_app_starts_with_a_damaged_component(make_root, tmp_path, shape_png, launch_app):
    damage, broken, words = CASES["non-dict config"]
    root = make_root(copied=(DAYS[broken],))
    damage(root / DAYS[broken])
    server, url, seen = launch_app(["--artifacts", root], cwd=tmp_path, timeout=180)
    try:
        assert url and url.startswith("http://127.0.0.1:"), "".join(seen)[-3000:]
        assert any("**Day 2 image classifier** (Day2_ImageClassification): **incompatible**" in s for s in seen)
        client = Client(url, verbose=False)
        # the app serves first and loads the components behind the page: wait until none is left to load
        deadline = time.monotonic() + 120
        while ": not loaded" in client.predict(api_name="/status") and time.monotonic() < deadline:
            time.sleep(0.5)
        check_app(client, broken, words, shape_png)
    finally:
        server.terminate()
        server.wait(timeout=30)
