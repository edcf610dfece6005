"""Day 3 assistant: thresholds, span extraction, long-context striding, SQuAD scoring, retrieval,
the Assistant round trip and its input errors, on tiny random models built locally."""

import numpy as np
import pytest
import torch

from applied_mlx import assistant as A


@pytest.fixture(scope="module")
def tiny_paths(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    texts = [t for ex in A.SKILL_EXAMPLES.values() for t in ex] + [p["text"] for p in A.KNOWLEDGE_BASE]
    return A.build_tiny_models(folder, texts, num_labels=len(A.SKILLS))


@pytest.fixture(scope="module")
def tiny(tiny_paths):
    paths = tiny_paths
    from transformers import AutoModelForQuestionAnswering, AutoModelForSequenceClassification, AutoTokenizer

    intent = AutoModelForSequenceClassification.from_pretrained(
        paths["intent"], id2label=dict(enumerate(A.SKILLS)), label2id={s: i for i, s in enumerate(A.SKILLS)})
    qa = AutoModelForQuestionAnswering.from_pretrained(paths["qa"])
    tok = AutoTokenizer.from_pretrained(paths["qa"])
    return A.Assistant(intent, tok, qa, tok, A.KNOWLEDGE_BASE, intent_threshold=0.0, answer_threshold=0.0,
                       qa_max_length=48, stride=16, device="cpu")


def test_apply_threshold_rejects_unsure_rows():
    probs = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.1, 0.2, 0.7]])
    assert A.apply_threshold(probs, 0.5, oos_index=2).tolist() == [0, 2, 2]
    assert A.apply_threshold(probs, 0.0, oos_index=2).tolist() == [0, 0, 2]


def test_oos_scores_by_hand():
    s = A.oos_scores([0, 1, 2, 2], [0, 2, 2, 1], oos_index=2)
    assert s["in_scope_accuracy"] == 0.5 and s["oos_recall"] == 0.5 and s["oos_precision"] == 0.5


def test_choose_threshold_separates_confident_from_unsure():
    # in-scope rows are confident (0.9), out-of-scope rows unsure (0.4): any threshold in (0.4, 0.9] is perfect
    probs = np.array([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.4, 0.3, 0.3], [0.3, 0.4, 0.3]])
    t, s = A.choose_threshold(probs, [0, 1, 2, 2], oos_index=2)
    assert 0.4 < t <= 0.9
    assert s["in_scope_accuracy"] == 1.0 and s["oos_recall"] == 1.0


def test_best_span_only_in_context_and_ordered():
    offsets = [None, None, (0, 3), (4, 8), (9, 12), None]
    start = np.array([10.0, 0, 1, 5, 0, 9])  # the highest logits lie outside the context
    end = np.array([10.0, 0, 0, 1, 6, 9])
    s, e, p = A.best_span(start, end, offsets)
    assert (s, e) == (3, 4)
    assert 0 < p <= 1
    # an end before the start is never chosen
    s, e, _ = A.best_span([0, 0, 0, 0, 9, 0], [0, 0, 9, 0, 0, 0], offsets)
    assert s <= e
    assert A.best_span([1, 2], [1, 2], [None, None]) == (-1, -1, 0.0)


def test_best_span_respects_max_length():
    offsets = [(i, i + 1) for i in range(10)]
    start = np.zeros(10)
    start[0] = 5
    end = np.zeros(10)
    end[9] = 5
    s, e, _ = A.best_span(start, end, offsets, max_answer_tokens=3)
    assert e - s < 3


def test_long_context_is_split_into_overlapping_windows(tiny):
    tok = tiny.qa_tokenizer
    context = " ".join(["movies"] * 50 + ["answer"] + ["ratings"] * 50)
    enc = A.qa_features(tok, ["where"], [context], max_length=32, stride=8)
    assert len(enc["input_ids"]) > 3 and set(enc["overflow_to_sample_mapping"]) == {0}
    spans = [[o for o in offs if o is not None] for offs in enc["offset_mapping"]]
    for a, b in zip(spans, spans[1:]):
        assert b[0][0] < a[-1][1]  # consecutive windows overlap
    assert spans[0][0][0] == 0 and spans[-1][-1][1] == len(context)  # the whole context is covered


def test_train_positions_point_at_the_answer_in_the_window_that_holds_it(tiny):
    tok = tiny.qa_tokenizer
    context = " ".join(["movies"] * 40) + " answer " + " ".join(["ratings"] * 40)
    start = context.index("answer")
    rows = [{"question": "where", "context": context, "answers": ["answer"], "answer_starts": [start]}]
    t = A.qa_train_tensors(tok, rows, max_length=32, stride=8)
    enc = A.qa_features(tok, ["where"], [context], max_length=32, stride=8)
    hits = [i for i in range(len(t["start_positions"])) if t["start_positions"][i] > 0]
    assert hits, "some window must hold the answer"
    for i in hits:
        s, e = int(t["start_positions"][i]), int(t["end_positions"][i])
        offs = enc["offset_mapping"][i]
        assert context[offs[s][0]:offs[e][1]] == "answer"
    assert all(int(t["start_positions"][i]) == 0 for i in range(len(t["start_positions"])) if i not in hits)


def test_answer_token_span_by_hand():
    # [CLS] q [SEP] "the"(0,3) "big"(4,7) "cat"(8,11) [SEP]: the characters 4..11 are "big cat"
    offsets = [None, None, None, (0, 3), (4, 7), (8, 11), None]
    assert A.answer_token_span(offsets, 4, 11) == (4, 5)
    assert A.answer_token_span(offsets, 5, 6) == (4, 4)  # inside one token: that token
    assert A.answer_token_span(offsets, 8, 14) == (0, 0)  # runs past the window: [CLS]
    assert A.answer_token_span([None, None], 0, 1) == (0, 0)  # no context at all


def test_fine_tuning_optimizer_gives_the_head_its_own_rate_and_a_schedule(tiny_paths):
    model = A.new_intent_classifier(tiny_paths["intent"], ["a", "b"], pooling="mean", seed=0)
    optimizer, scheduler = A.fine_tuning_optimizer(model, 1e-4, 3e-3, steps=10, warmup=0.2)
    head = {id(p) for p in model.classifier.parameters()}
    rates = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    assert all(rates[i] == pytest.approx(3e-3 * 0.5) for i in head)  # first of two warm-up steps
    assert all(rates[id(p)] == pytest.approx(1e-4 * 0.5) for p in model.backbone.parameters())
    assert A.fine_tuning_optimizer(model, 1e-4, None, steps=10, warmup=None)[1] is None


def test_extract_answers_maps_back_to_characters(tiny):
    context = " ".join(["alpha beta gamma"] * 30)
    out = A.extract_answers(tiny.qa_model, tiny.qa_tokenizer, ["what"], [context], max_length=32, stride=8)[0]
    assert out["text"] == context[out["start"]:out["end"]] and out["text"]
    assert 0 < out["score"] <= 1


def test_squad_em_f1_by_hand():
    r = A.squad_em_f1(["The Eiffel Tower", "in 1889", "blue"], [["Eiffel Tower"], ["1889", "in 1890"], ["red"]])
    assert r["exact_match"] == pytest.approx(100 / 3)
    # f1: 1, max(2*(0.5*1)/(1.5)=0.667, 0.5), 0
    assert r["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)
    with pytest.raises(ValueError):
        A.squad_em_f1([], [])


def test_retriever_finds_the_passage_with_the_terms():
    r = A.Retriever(A.KNOWLEDGE_BASE)
    idx, score = r.search("which data set has hourly oil temperature readings", k=1)[0]
    assert A.KNOWLEDGE_BASE[idx]["title"] == "Day 4" and score > 0
    with pytest.raises(ValueError):
        A.Retriever([])


def test_subsample_per_label():
    pairs = [(f"t{i}", "a") for i in range(10)] + [("u", "b")]
    out = A.subsample_per_label(pairs, 3)
    assert sum(y == "a" for _, y in out) == 3 and ("u", "b") in out


def test_classify_reply_and_answer_shapes(tiny):
    out = tiny.classify(["hello", "recommend me a movie"])
    assert len(out) == 2 and all(o["intent"] in A.SKILLS for o in out)
    assert all(abs(sum(o["probabilities"].values()) - 1) < 1e-5 for o in out)
    r = tiny.reply("what data does day four use")
    assert isinstance(r.text, str) and r.intent in A.SKILLS and 0 <= r.confidence <= 1
    a = tiny.answer("what is distilbert")
    assert a["answer"] is not None and len(a["sources"]) == 3
    a = tiny.answer("who", context="DistilBERT was released by Hugging Face.")
    assert a["answer"] in "DistilBERT was released by Hugging Face."


def test_thresholds_turn_unsure_into_not_sure_and_no_answer(tiny):
    tiny.intent_threshold, tiny.answer_threshold = 1.01, 1.01
    try:
        c = tiny.classify(["hello"])[0]
        assert c["unsure"] and c["intent"] == A.OUT_OF_SCOPE
        assert tiny.reply("hello").text == A.NOT_SURE
        assert tiny.answer("what is distilbert")["answer"] is None
    finally:
        tiny.intent_threshold, tiny.answer_threshold = 0.0, 0.0


@pytest.mark.parametrize("bad", ["", "   \n", None, 42, b"bytes"])
def test_bad_input_raises_a_clear_value_error(tiny, bad):
    with pytest.raises(ValueError, match="str|empty"):
        tiny.reply(bad)
    with pytest.raises(ValueError, match="str|empty"):
        tiny.answer(bad)
    with pytest.raises(ValueError):
        tiny.classify([bad])


def test_classify_refuses_a_bare_string_and_history_of_wrong_type(tiny):
    with pytest.raises(ValueError, match="list"):
        tiny.classify("hello")
    with pytest.raises(ValueError, match="history"):
        tiny.reply("hello", history="nope")
    assert tiny.classify([]) == []


def test_huge_input_is_truncated_not_a_crash(tiny):
    huge = "movie " * 100_000
    assert tiny.classify([huge])[0]["intent"] in A.SKILLS
    assert isinstance(tiny.reply(huge).text, str)
    assert tiny.answer("what", context=huge)["score"] >= 0


def test_save_load_round_trip_gives_same_predictions(tiny, tmp_path):
    path = tiny.save(tmp_path / "assistant", metrics={"x": 1.0})
    back = A.Assistant.load(path, device="cpu")
    msgs = ["hello", "what is distilbert", "order a pizza"]
    p1 = [o["probabilities"] for o in tiny.classify(msgs)]
    p2 = [o["probabilities"] for o in back.classify(msgs)]
    for a, b in zip(p1, p2):
        assert all(abs(a[k] - b[k]) < 1e-6 for k in a)
    assert tiny.answer("what is distilbert") == back.answer("what is distilbert")
    assert back.knowledge_base == tiny.knowledge_base and back.labels == tiny.labels


def test_load_of_a_missing_or_foreign_folder_fails_clearly(tmp_path):
    from applied_mlx.artifacts import ArtifactError

    with pytest.raises(ArtifactError):
        A.Assistant.load(tmp_path / "nothing")


def test_chat_demo_builds_a_chat_interface(tiny):
    gr = pytest.importorskip("gradio")
    demo = A.chat_demo(tiny)
    assert isinstance(demo, gr.ChatInterface)
    assert "intent:" in A.format_reply(tiny.reply("hello"))


def test_chat_demo_answers_through_the_gradio_api(tiny):
    # launched for real on the loopback interface and called like any client would
    pytest.importorskip("gradio")
    client_mod = pytest.importorskip("gradio_client")
    demo = A.chat_demo(tiny)
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        client = client_mod.Client(demo.local_url, verbose=False)
        text = client.predict("recommend me a movie", api_name="/chat")
        r = tiny.reply("recommend me a movie")
        assert text == A.format_reply(r)
        assert f"intent: {r.intent} ({r.confidence:.0%})" in text
        assert client.predict("   ", api_name="/chat").startswith("Sorry:")
    finally:
        demo.close()


def test_trim_batch_cuts_shared_padding_only():
    batch = {"input_ids": torch.tensor([[5, 6, 0, 0], [5, 0, 0, 0]]),
             "attention_mask": torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0]]), "labels": torch.tensor([1, 2])}
    out = A.trim_batch(batch)
    assert out["input_ids"].tolist() == [[5, 6], [5, 0]] and out["labels"].tolist() == [1, 2]


def _tiny_distilbert(num_labels=3):
    from transformers import DistilBertConfig

    return DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32, num_labels=num_labels,
                            id2label={0: "a", 1: "b", 2: "c"}, label2id={"a": 0, "b": 1, "c": 2})


def test_mean_pooling_classifier_ignores_padding_and_round_trips(tiny_paths, tmp_path):
    # a DistilBERT encoder (no token_type_ids, its own dropout name) and the tiny BERT, from_pretrained
    torch.manual_seed(0)
    models = [A.MeanPoolingClassifier(_tiny_distilbert()).eval(),
              A.new_intent_classifier(tiny_paths["intent"], ["a", "b", "c"], pooling="mean").eval()]
    for i, model in enumerate(models):
        ids = torch.tensor([[2, 7, 9, 3, 0, 0], [2, 8, 3, 0, 0, 0]])
        mask = (ids != 0).long()
        both = model(input_ids=ids, attention_mask=mask).logits
        alone = model(input_ids=ids[1:, :3], attention_mask=mask[1:, :3]).logits
        assert torch.allclose(both[1], alone[0], atol=1e-5)  # the padding changes nothing
        model.save_pretrained(tmp_path / f"m{i}")
        back = A.load_intent_model(tmp_path / f"m{i}").eval()
        assert type(back) is A.MeanPoolingClassifier and back.config.id2label[2] == "c"
        assert torch.equal(back(input_ids=ids, attention_mask=mask).logits, both)


def test_the_fresh_head_comes_from_the_seed_not_from_what_ran_before(tiny_paths):
    heads = []
    for draws in (1, 1000):
        torch.rand(draws)  # whatever consumed the global generator before
        for pooling in ("mean", "cls"):
            heads.append(A.new_intent_classifier(tiny_paths["intent"], ["a", "b"], pooling, seed=3).classifier.weight)
    assert torch.equal(heads[0], heads[2]) and torch.equal(heads[1], heads[3])
    other_seed = A.new_intent_classifier(tiny_paths["intent"], ["a", "b"], seed=4)
    assert not torch.equal(other_seed.classifier.weight, heads[0])


_RUN_TWICE = """
import json, random, sys, tempfile
import torch
from applied_mlx import assistant as A
random.random(); torch.rand(int(sys.argv[1]))  # each process consumes the generators differently
d = tempfile.mkdtemp()
paths = A.build_tiny_models(d, [t for ex in A.SKILL_EXAMPLES.values() for t in ex], len(A.SKILLS))
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(paths["intent"])
splits = A.smoke_intent_splits()
model = A.new_intent_classifier(paths["intent"], A.SKILLS, seed=0)
r = A.train_intent_classifier(model, tok, splits["train"], splits["val"], max_length=32, batch_size=8, epochs=2,
                              lr=1e-3, head_lr=1e-2, device="cpu", seed=0, progress=False)
qa = A.new_qa_model(paths["qa"], seed=0)
A.train_qa_model(qa, tok, A.smoke_squad_rows()[:12], max_length=48, stride=16, epochs=1, lr=1e-3, device="cpu",
                 seed=0, progress=False)
a = A.Assistant(model, tok, qa, tok, A.KNOWLEDGE_BASE, intent_threshold=0.0, answer_threshold=0.0, device="cpu")
print(json.dumps({"history": r.history.drop(columns="seconds").to_dict(),
                  "probs": [c["probabilities"] for c in a.classify([t for t, _ in splits["test"]])],
                  "answer": a.answer("what is day 1")}))
"""


def test_training_is_repeatable_across_processes(tmp_path):
    # same seed, different hash seeds and different generator use before: the same numbers to the bit
    import json
    import os
    import subprocess
    import sys

    script = tmp_path / "run.py"
    script.write_text(_RUN_TWICE)
    outs = []
    for hash_seed, draws in (("1", "3"), ("2", "500")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, str(script), draws], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        outs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert outs[0] == outs[1]


def test_passage_scores_weigh_retrieval_against_the_readers_confidence():
    # the reader is surer in the off-topic passage; the retriever's clear winner still answers
    scores = A.passage_scores([0.48, 0.04, 0.03], [0.23, 0.09, 0.51])
    assert int(np.argmax(scores)) == 0
    # between passages the retriever rates alike, the reader decides
    assert int(np.argmax(A.passage_scores([0.20, 0.19], [0.1, 0.8]))) == 1
    # a passage sharing no term with the question is never picked over one that does
    scores = A.passage_scores([0.1, 0.0], [0.0, 1.0])
    assert scores[1] == -np.inf and int(np.argmax(scores)) == 0
    # with no term shared anywhere the reader's scores still rank (answer() then says there is none)
    assert int(np.argmax(A.passage_scores([0.0, 0.0], [0.2, 0.6]))) == 1


# ----------------------------------------------------------------------------------- the component contract
@pytest.fixture(scope="module")
def saved_assistant(tiny, tmp_path_factory):
    return tiny.save(tmp_path_factory.mktemp("saved") / "assistant", metrics={"x": 1.0}, profile="smoke")


@pytest.fixture
def copy_of_saved(saved_assistant, tmp_path):
    import shutil

    return shutil.copytree(saved_assistant, tmp_path / "assistant")


def _edit_json(path, change):
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(change(data)), encoding="utf-8")


def test_assistant_follows_the_component_contract(tiny, saved_assistant):
    from applied_mlx import artifacts

    assert isinstance(tiny, artifacts.Component) and A.Assistant.COMPONENT == "assistant"
    art = artifacts.load_artifact(saved_assistant, A.Assistant.COMPONENT)
    # the two models in named save_pretrained subfolders (safetensors), the settings as one checked section
    assert art.config["weights"] == ["intent/", "qa/"] and not (saved_assistant / "qa_model").exists()
    for name in ("intent", "qa"):
        assert (saved_assistant / name / "model.safetensors").is_file()
        assert (saved_assistant / name / "tokenizer.json").is_file()
    assert art.section("assistant", A.AssistantConfig) == tiny.config
    assert art.config["profile"] == "smoke" and art.metrics == {"x": 1.0}
    with pytest.raises(ValueError, match="assistant"):
        tiny.save(saved_assistant.parent / "other", assistant={"top_k": 1})


@pytest.mark.parametrize("folder", ["intent", "qa"])
def test_a_pickle_weights_file_in_the_artifact_is_refused_not_unpickled(copy_of_saved, monkeypatch, folder):
    from applied_mlx.artifacts import ArtifactError

    state = {k: v.clone() for k, v in A.Assistant.load(copy_of_saved, device="cpu").qa_model.state_dict().items()}
    (copy_of_saved / folder / "model.safetensors").unlink()
    torch.save(state, copy_of_saved / folder / "pytorch_model.bin")
    calls = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a))
    with pytest.raises(ArtifactError, match=f"{folder}.*pytorch_model.bin.*pickle"):
        A.Assistant.load(copy_of_saved, device="cpu")
    assert calls == []


def test_load_intent_model_reads_safetensors_only(tiny, tmp_path, monkeypatch):
    tiny.intent_model.save_pretrained(tmp_path / "m")
    state = tiny.intent_model.state_dict()
    (tmp_path / "m" / "model.safetensors").unlink()
    torch.save(state, tmp_path / "m" / "pytorch_model.bin")
    calls = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a))
    with pytest.raises(OSError, match="safetensors"):
        A.load_intent_model(tmp_path / "m")
    assert calls == []


def _drop(key):
    return lambda c: {**c, "assistant": {k: v for k, v in c["assistant"].items() if k != key}}


def _set(key, value):
    return lambda c: {**c, "assistant": {**c["assistant"], key: value}}


CONFIG_FAULTS = {
    "no assistant section": (lambda c: {k: v for k, v in c.items() if k != "assistant"}, "lacks the field 'assistant'"),
    "section not an object": (lambda c: {**c, "assistant": [1, 2]}, "'assistant' must be dict"),
    "threshold missing": (_drop("intent_threshold"), "intent_threshold"),
    "threshold a string": (_set("intent_threshold", "high"), "intent_threshold must be a number"),
    "threshold above 1": (_set("answer_threshold", 1.5), "answer_threshold must be a probability"),
    "threshold not finite": (_set("answer_threshold", float("nan")), "answer_threshold"),
    "labels missing": (_drop("labels"), "labels"),
    "labels a string": (_set("labels", "greeting"), "labels must be a list"),
    "labels of another model": (_set("labels", ["yes", "no"]), "labels.*do(es)? not match"),
    "labels not strings": (_set("labels", [1, 2, 3]), r"labels\[0\] must be a string"),
    "length a bool": (_set("max_length", True), "max_length must be a whole number"),
    "top_k zero": (_set("top_k", 0), "top_k must be > 0"),
    "stride too long": (_set("stride", 48), "stride must be below qa_max_length"),
    "window beyond the model": (_set("qa_max_length", 10**9), "qa_max_length is 1000000000 tokens"),
    "unknown field": (_set("temperature", 0.7), "unknown field"),
}


@pytest.mark.parametrize("fault", CONFIG_FAULTS, ids=list(CONFIG_FAULTS))
def test_every_config_fault_is_an_artifact_error_naming_the_field(copy_of_saved, fault):
    from applied_mlx.artifacts import ArtifactError

    change, message = CONFIG_FAULTS[fault]
    _edit_json(copy_of_saved / "config.json", change)
    with pytest.raises(ArtifactError, match=message) as err:
        A.Assistant.load(copy_of_saved, device="cpu")
    assert "config.json" in str(err.value)


KB_FAULTS = {
    "not JSON": (b"[{\"title\": \"x\", \"text\"", "not valid JSON"),
    "not UTF-8": (b"[\"\xff\xfe\"]", "not UTF-8"),
    "an object": (b"{\"title\": \"x\", \"text\": \"y\"}", "not a JSON list"),
    "empty": (b"[]", "empty"),
    "a passage without text": (b"[{\"title\": \"x\"}]", "passage 0"),
    "a passage not an object": (b"[{\"title\": \"x\", \"text\": \"y\"}, 42]", "passage 1"),
    "a title not a string": (b"[{\"title\": 7, \"text\": \"y\"}]", "passage 0 .*title"),
}


@pytest.mark.parametrize("fault", KB_FAULTS, ids=list(KB_FAULTS))
def test_a_damaged_knowledge_base_is_an_artifact_error_naming_the_file(copy_of_saved, fault):
    from applied_mlx.artifacts import ArtifactError

    content, message = KB_FAULTS[fault]
    (copy_of_saved / A.KB_FILE).write_bytes(content)
    with pytest.raises(ArtifactError, match=message) as err:
        A.Assistant.load(copy_of_saved, device="cpu")
    assert A.KB_FILE in str(err.value)


def test_damaged_model_folders_are_artifact_errors_naming_them(copy_of_saved):
    import shutil

    from applied_mlx.artifacts import ArtifactError

    # id2label that skips an id (a KeyError when the labels are listed), or has one label too few
    _edit_json(copy_of_saved / "intent" / "config.json",
               lambda c: {**c, "id2label": {("9" if k == "3" else k): v for k, v in c["id2label"].items()}})
    with pytest.raises(ArtifactError, match=r"intent/ folder .*id2label lacks the ids \[3\]"):
        A.Assistant.load(copy_of_saved, device="cpu")
    _edit_json(copy_of_saved / "intent" / "config.json",
               lambda c: {**c, "id2label": {k: v for k, v in c["id2label"].items() if k != "9"}})
    with pytest.raises(ArtifactError, match="intent/ folder could not be read"):
        A.Assistant.load(copy_of_saved, device="cpu")
    (copy_of_saved / "intent" / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ArtifactError, match="intent"):
        A.Assistant.load(copy_of_saved, device="cpu")
    shutil.rmtree(copy_of_saved / "qa")
    with pytest.raises(ArtifactError, match="lacks qa/"):
        A.Assistant.load(copy_of_saved, device="cpu")


def test_a_huge_size_in_a_model_config_fails_before_allocating(copy_of_saved):
    import resource
    import time

    from applied_mlx.artifacts import ArtifactError

    _edit_json(copy_of_saved / "qa" / "config.json", lambda c: {**c, "hidden_size": 20_000_000})
    before, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    with pytest.raises(ArtifactError, match="qa/ folder"):
        A.Assistant.load(copy_of_saved, device="cpu")
    assert time.perf_counter() - start < 30
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 200  # kB -> MB (Linux)


def test_the_constructor_checks_its_settings(tiny):
    args = (tiny.intent_model, tiny.intent_tokenizer, tiny.qa_model, tiny.qa_tokenizer, A.KNOWLEDGE_BASE)
    for bad, message in (({"intent_threshold": -0.1}, "intent_threshold"), ({"top_k": 0}, "top_k"),
                         ({"qa_max_length": 48, "stride": 44}, "no room for a question"),
                         ({"max_length": 100_000}, "max_length is 100000 tokens")):
        with pytest.raises(ValueError, match=message):
            A.Assistant(*args, device="cpu", **bad)
    with pytest.raises(ValueError, match="passage 0"):
        A.Assistant(args[0], args[1], args[2], args[3], [{"title": "no text"}], device="cpu")


def test_every_profile_has_the_same_settings():
    keys = [set(A.settings(p)) for p in A.PROFILE_SETTINGS]
    assert all(k == keys[0] for k in keys)
    assert {"answer_threshold", "squad_train_titles", "skill_oos_examples", "skill_held_out",
            "skill_batch_size"} <= keys[0]
    with pytest.raises(ValueError, match="unknown profile"):
        A.settings("huge")


# ----------------------------------------------------------------------------------- long questions
def _words(n_chars: int) -> str:
    # real words from the knowledge base, repeated up to n_chars characters
    words = " ".join(p["text"] for p in A.KNOWLEDGE_BASE).split()
    text, i = "", 0
    while len(text) < n_chars:
        text += words[i % len(words)] + " "
        i += 1
    return text[:n_chars].rstrip() + "?"


def _answer_or_value_error(call):
    try:
        return call()
    except ValueError as e:
        return e
    except BaseException as e:  # noqa: BLE001  (the tokenizer's PanicException is a BaseException)
        pytest.fail(f"{type(e).__module__}.{type(e).__name__} escaped: {str(e)[:200]}")


# the fixture's windows, the smoke profile's and the full profile's (where 260-390 token questions panicked)
WINDOWS = [(48, 16), (64, 16), (384, 128)]


@pytest.mark.parametrize("window", WINDOWS, ids=[f"{m}/{s}" for m, s in WINDOWS])
@pytest.mark.parametrize("n_chars", [1_300, 1_900, 2_000])
def test_a_long_question_is_answered_not_a_tokenizer_panic(tiny, window, n_chars):
    qa_max_length, stride = window
    a = A.Assistant(tiny.intent_model, tiny.intent_tokenizer, tiny.qa_model, tiny.qa_tokenizer, A.KNOWLEDGE_BASE,
                    intent_threshold=0.0, answer_threshold=0.0, qa_max_length=qa_max_length, stride=stride,
                    device="cpu")
    question = _words(n_chars)
    assert len(question) == n_chars + 1 and len(a.qa_tokenizer(question)["input_ids"]) > 250
    out = _answer_or_value_error(lambda: a.answer(question))
    assert isinstance(out, dict) and 0 <= out["score"] <= 1 and len(out["sources"]) == a.top_k
    out = _answer_or_value_error(lambda: a.answer(question, context=" ".join(["movies ratings"] * 400)))
    assert isinstance(out, dict)
    out = _answer_or_value_error(lambda: a.reply(question))
    assert isinstance(out.text, str)


def test_fit_questions_keeps_the_first_tokens_and_bounds_the_windows(tiny):
    tok = tiny.qa_tokenizer
    budget = A.question_budget(tok, 64, 16)
    assert budget == (64 - 3 - 16) // 2
    short, long = "what is distilbert", _words(2_000)
    fitted = A.fit_questions(tok, [short, long], 64, 16)
    assert fitted[0] == short
    assert long.startswith(fitted[1]) and len(tok(fitted[1], add_special_tokens=False)["input_ids"]) == budget
    # with the question at its budget, a long context still advances by at least budget tokens per window
    context = " ".join(["movies ratings users"] * 300)
    enc = A.qa_features(tok, [long], [context], 64, 16)
    context_tokens = len(tok(context, add_special_tokens=False)["input_ids"])
    assert len(enc["input_ids"]) <= context_tokens // budget + 1
    with pytest.raises(ValueError, match="no room"):
        A.question_budget(tok, 20, 16)


# ----------------------------------------------------------------------------------- invisible text
@pytest.mark.parametrize("bad", ["\u200b", "\x00\x00", "\u200b\u200c\ufeff", " \t\x00\u2028 ", "\ud800", "\x07\x1b"])
def test_text_without_a_visible_character_is_refused(tiny, bad):
    for call in (lambda: tiny.classify([bad]), lambda: tiny.answer(bad), lambda: tiny.reply(bad),
                 lambda: tiny.answer("what is day 1", context=bad)):
        with pytest.raises(ValueError, match="empty or only whitespace, zero-width or control characters"):
            call()


def test_lone_surrogates_are_dropped_not_a_tokenizer_type_error(tiny):
    clean = tiny.classify(["good morning"])[0]["probabilities"]
    for text in ("\ud800 good morning", "good \udfff morning\ud83d"):
        got = tiny.classify([text])[0]["probabilities"]
        assert all(abs(got[k] - clean[k]) < 1e-6 for k in clean)
        assert isinstance(tiny.answer(text)["score"], float) and isinstance(tiny.reply(text).text, str)
    # a pair written as two code units is one character, kept
    assert A._check_text("\ud83d\ude00 hi", "message", 100) == "\U0001F600 hi"
