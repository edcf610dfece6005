"""``applied_mlx.build``: one component built in the smoke profile into a fresh root and loaded with its class;
the status file's states; a failing component recorded with its reason while the next one is built; the lock;
a status left by a dead process not trusted."""

import json
import os
import subprocess
import sys

import nbformat
import pytest

from applied_mlx import build


def test_days_are_the_five_component_days_fastest_first():
    assert build.DAYS == ("Day1_Recommendation", "Day4_TimeSeries", "Day2_ImageClassification", "Day5_Sentiment",
                          "Day3_Chatbot")
    quick = build.ESTIMATED_SECONDS["quick"]
    assert [quick[d] for d in build.DAYS] == sorted(quick.values())


@pytest.mark.parametrize("name", ["Day4_TimeSeries", "Day4", "day4", "4", "forecaster"])
def test_a_day_can_be_named_several_ways(name):
    assert build.resolve_day(name) == "Day4_TimeSeries"


def test_an_unknown_day_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="Day1_Recommendation"):
        build.resolve_day("Day9")


def test_an_empty_root_misses_every_component(tmp_path):
    assert build.missing(tmp_path) == list(build.DAYS)
    (tmp_path / "Day1_Recommendation").mkdir()  # a folder without config.json: not a component
    assert "Day1_Recommendation" in build.missing(tmp_path)


def broken_notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## 1. Goal"), nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_markdown_cell("## 5. Training"),
                nbformat.v4.new_code_cell("raise RuntimeError('the data set is not there')")]
    nbformat.write(nb, path)
    return path


def test_a_build_saves_a_loadable_component_and_a_failure_does_not_stop_the_next(tmp_path, monkeypatch):
    from applied_mlx.recsys import Recommender

    root, logs = tmp_path / "artifacts", tmp_path / "logs"
    broken = broken_notebook(tmp_path / "broken.ipynb")
    real = build.notebook_of
    monkeypatch.setattr(build, "notebook_of", lambda day: broken if day == "Day4_TimeSeries" else real(day))
    monkeypatch.setattr(build, "DAYS", ("Day4_TimeSeries", "Day1_Recommendation"))  # the failing one first
    states = []
    write = build.StatusWriter.write

    def record(self):
        write(self)
        states.append(json.loads(self.path.read_text()))

    monkeypatch.setattr(build.StatusWriter, "write", record)

    code = build.run(["Day4", "Day1"], root=root, profile="smoke", log_dir=logs)

    assert code == 1  # one failed
    recommender = Recommender.load(root / "Day1_Recommendation")
    assert len(recommender.recommend(1, k=3).items) == 3
    final = json.loads((root / build.STATUS_FILE).read_text())
    assert final["pid"] == os.getpid()
    day1, day4 = final["components"]["Day1_Recommendation"], final["components"]["Day4_TimeSeries"]
    assert day1["state"] == "ready" and day1["metric"].startswith("nDCG@10")
    assert day4["state"] == "failed" and "the data set is not there" in day4["error"]
    assert day4["retry"] == f"python -m applied_mlx.build Day4_TimeSeries --profile smoke --root {root}"
    seen = {day: [s["components"][day]["state"] for s in states] for day in ("Day1_Recommendation", "Day4_TimeSeries")}
    for day, last in (("Day1_Recommendation", "ready"), ("Day4_TimeSeries", "failed")):
        order = list(dict.fromkeys(seen[day]))
        assert order == ["waiting", "training", last], (day, order)
    steps = [s["components"]["Day1_Recommendation"] for s in states
             if s["components"]["Day1_Recommendation"]["state"] == "training"]
    assert any(0 < s["step"] < s["total"] and "Training" in s["stage"] for s in steps)
    assert "the data set is not there" in (logs / "Day4_TimeSeries.log").read_text()
    assert (logs / "Day1_Recommendation.ipynb").is_file()  # the executed notebook, beside its log
    assert build.missing(root) == ["Day4_TimeSeries"]
    assert build.missing(root, profile="quick") == ["Day4_TimeSeries", "Day1_Recommendation"]  # smoke < quick


def test_a_second_build_waits_for_the_lock(tmp_path):
    held = build.BuildLock(tmp_path / build.LOCK_FILE)
    assert held.acquire()
    try:
        assert build.build_running(tmp_path)
        assert build.run(["Day1"], root=tmp_path, profile="smoke", log_dir=tmp_path / "logs") == 2
    finally:
        held.release()
    assert not build.build_running(tmp_path)


def test_a_status_left_by_a_dead_process_reads_stopped(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    writer = build.StatusWriter(tmp_path / "status.json", "quick")
    writer.entry("Day1_Recommendation", "ready", metric="nDCG@10 0.4")
    writer.entry("Day4_TimeSeries", "training", stage="Training (step 3/30)", step=3, total=30, eta_s=60.0)
    writer.entry("Day2_ImageClassification", "waiting")
    writer.write()
    data = json.loads(writer.path.read_text())
    data["pid"] = dead.pid
    writer.path.write_text(json.dumps(data))

    status = build.read_status(writer.path)

    assert status["alive"] is False
    states = {day: entry["state"] for day, entry in status["components"].items()}
    assert states == {"Day1_Recommendation": "ready", "Day4_TimeSeries": "stopped",
                      "Day2_ImageClassification": "stopped"}
    assert "not running" in status["components"]["Day4_TimeSeries"]["error"]
    assert build.read_status(tmp_path / "absent.json") is None


def test_notebooks_are_found_in_a_named_checkout_or_the_error_says_how(tmp_path, monkeypatch):
    """Installed from a wheel (Colab), the package has no notebooks: APPLIED_MLX_REPO points at a clone."""
    (tmp_path / "Day4_TimeSeries").mkdir()
    (tmp_path / "Day4_TimeSeries" / "time_series.ipynb").write_text("{}")
    monkeypatch.setenv(build.REPO_VAR, str(tmp_path))
    assert build.notebook_of("Day4_TimeSeries") == tmp_path / "Day4_TimeSeries" / "time_series.ipynb"
    monkeypatch.setattr(build, "REPO_ROOT", tmp_path / "site-packages")
    with pytest.raises(FileNotFoundError, match="APPLIED_MLX_REPO"):
        build.notebook_of("Day1_Recommendation")
