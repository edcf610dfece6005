"""tools/results_table.py: rows built from metrics.json, and only the marked README block replaced."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("results_table", ROOT / "tools" / "results_table.py")
rt = importlib.util.module_from_spec(spec)
sys.modules["results_table"] = rt  # dataclasses look their module up there
spec.loader.exec_module(rt)


def test_rows_come_from_metrics_and_missing_days_say_so(tmp_path):
    day4 = tmp_path / "Day4_TimeSeries"
    day4.mkdir()
    results = {"LSTM": {"96": {"mse": 0.40}, "192": {"mse": 0.41}},
               "linear (least squares)": {"96": {"mse": 0.42}, "192": {"mse": 0.40}}}
    (day4 / "metrics.json").write_text(json.dumps({"profile": "smoke", "results": results}))
    table = rt.table(tmp_path)
    row4 = next(line for line in table.splitlines() if line.startswith("| 4 |"))
    assert "LSTM 0.400 / 0.410" in row4 and "the LSTM beats it at H=96 only" in row4
    assert row4.endswith("| smoke, RevIN + channel-independent segment LSTM (hidden 64), CPU |")
    assert "| 1 | nDCG@10" in table and "not run yet" in table.splitlines()[2]


def test_day4_row_names_the_highway_model_when_there_is_one():
    results = {"LSTM": {"96": {"mse": 0.43}, "192": {"mse": 0.44}},
               "linear (least squares)": {"96": {"mse": 0.42}, "192": {"mse": 0.40}},
               rt.HIGHWAY: {"96": {"mse": 0.41}, "192": {"mse": 0.40}}}
    row = rt.day4({"results": results}, {})
    assert "(the LSTM does not beat it)" in row
    assert f"{rt.HIGHWAY} 0.410 / 0.400 (it beats it at H=96 only)" in row
    results[rt.BLEND] = {"96": {"mse": 0.405}, "192": {"mse": 0.395}}
    row = rt.day4({"results": results, "saved_model": rt.BLEND}, {})
    assert f"{rt.BLEND} (the saved forecaster) 0.405 / 0.395 (it beats it at every horizon)" in row


def test_only_the_marked_block_is_replaced():
    text = f"intro caveat\n{rt.START}\nold table\n{rt.END}\nafter caveat\n"
    assert rt.replace_block(text, "NEW") == f"intro caveat\n{rt.START}\nNEW\n{rt.END}\nafter caveat\n"
    with pytest.raises(ValueError, match="no results markers"):
        rt.replace_block("no markers here", "NEW")


def test_the_readme_carries_the_markers():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(rt.START) == 1 and text.count(rt.END) == 1


def test_a_day_without_metrics_keeps_the_readme_row_it_has(tmp_path):
    day4 = tmp_path / "Day4_TimeSeries"
    day4.mkdir()
    (day4 / "metrics.json").write_text(json.dumps({"profile": "quick", "results": {
        "LSTM": {"96": {"mse": 0.40}}, "linear (least squares)": {"96": {"mse": 0.42}}}}))
    current = "\n".join([rt.HEADER, "| 1 | old metric | 0.467 from an earlier run | ref | quick |",
                         "| 4 | old | stale numbers | ref | quick |", "| 5 | x | not run yet | ref | |"])
    lines = rt.table(tmp_path, current).splitlines()
    assert lines[2] == "| 1 | old metric | 0.467 from an earlier run | ref | quick |"  # no Day 1 metrics here: kept
    row4 = next(line for line in lines if line.startswith("| 4 |"))
    assert "stale" not in row4 and "LSTM 0.400" in row4  # Day 4 has metrics: rebuilt
    assert "not run yet" in next(line for line in lines if line.startswith("| 5 |"))
    assert rt.current_block(f"a\n{rt.START}\n{current}\n{rt.END}\nb").strip() == current
    assert rt.current_block("no markers") == ""


def test_day2_row_leads_with_the_component_s_test_time_flipping():
    s = lambda mean, std: {"mean": mean, "std": std, "values": [mean] * 3}
    m = {"final_phase": "last block", "test_time_flip": True, "last_block_accuracy": s(0.946, 0.004),
         "last_block_accuracy_flip": s(0.952, 0.004), "frozen_accuracy": s(0.930, 0.004),
         "frozen_accuracy_flip": s(0.933, 0.004)}
    row = rt.day2(m, {})
    assert row.startswith("0.952 ± 0.004 with the last block fine-tuned and test-time flipping "
                          "(one view 0.946 ± 0.004)")
    assert "frozen backbone + new head 0.933 ± 0.004 (one view 0.930 ± 0.004), 3 seeds" in row
    old = rt.day2({"last_block_accuracy": s(0.95, 0.004), "frozen_accuracy": s(0.93, 0.004)}, {})
    assert old == "0.950 ± 0.004 with the last block fine-tuned (frozen backbone + new head 0.930 ± 0.004), 3 seeds"


def test_day5_row_names_the_int8_variant():
    m = {"dev": {"accuracy": 0.885, "f1": 0.889, "roc_auc": 0.951}, "baseline_tfidf_lr": {"accuracy": 0.803}}
    assert rt.day5({**m, "int8": {"accuracy": 0.8865, "activations": "per_token"}}, {}) == \
        "0.885, F1 0.889, AUC 0.951 (int8 per-token 0.886; TF-IDF + LR 0.803)"
    assert "(int8 0.882;" in rt.day5({**m, "int8": {"accuracy": 0.882}}, {})  # older metrics name no variant
