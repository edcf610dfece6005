"""Day 3's routing and question answering as a user meets them: the held-out evaluation sets, the
training data kept apart from them, the knowledge-base cue, the retriever's tolerance of users' spellings,
the answer threshold, and the evaluation helpers (with stand-in classifiers: no model is trained here)."""

import collections
from types import SimpleNamespace

import numpy as np
import pytest

from applied_mlx import assistant as A

KB = {p["title"]: p["text"] for p in A.KNOWLEDGE_BASE}


def test_routing_set_is_large_and_covers_every_skill():
    rows = A.load_routing_set()
    counts = collections.Counter(skill for _, skill in rows)
    assert len(rows) >= 300 and set(counts) == set(A.SKILLS)
    assert min(counts.values()) >= 40
    assert len({t for t, _ in rows}) == len(rows)  # no message twice


def test_question_set_has_gold_spans_in_their_passages():
    rows = A.load_qa_set()
    assert len(rows) >= 100 and len({r["question"] for r in rows}) == len(rows)
    for r in rows:
        assert r["title"] in KB and r["answers"]
        assert all(a in KB[r["title"]] for a in r["answers"]), r
        assert KB[r["title"]].index(r["answers"][0]) == r["answer_start"]


def test_training_and_validation_data_never_hold_a_held_out_text():
    clinc = [("hi there friend", "greeting"), ("what's my routing number", "routing"), ("bye", "goodbye")] * 3
    splits = A.skill_splits(["book me a cab", "whats the weather like today"], held_out=2, seed=0, clinc=clinc)
    held = A.held_out_texts()
    assert held and not {t.lower() for t, _ in splits["train"] + splits["val"]} & held
    assert not {t for t, _ in splits["train"]} & {t for t, _ in splits["val"]} - {"hello"}
    assert {y for _, y in splits["train"]} == set(A.SKILLS)
    assert not {r["question"] for r in A.qa_validation_rows()} & held


def test_clinc_intents_map_to_skills_or_out_of_scope():
    pairs = [("hello", "greeting"), ("see ya", "goodbye"), ("freeze my card", "freeze_account"),
             ("yes", "yes"), ("asdf", A.OOS)]
    mapped = dict(A.clinc_skill_pairs(pairs))
    assert mapped == {"hello": "greeting", "see ya": "goodbye", "freeze my card": A.OUT_OF_SCOPE}


def test_skill_splits_still_works_with_the_old_arguments():
    splits = A.skill_splits(["order a pizza", "play jazz"], held_out=2, seed=0)
    assert len(splits["val"]) >= 2 * len(A.SKILLS) and all(y in A.SKILLS for _, y in splits["train"])


@pytest.mark.parametrize("message, skill", [
    ("what is the oil temperature in etth1", "question"),
    ("how many intents does clinc have", "question"),
    ("what network does the forecasting day use?", "question"),
    ("tell me about day 5", "question"),
    ("sst2 has how many dev sentences?", "question"),
    ("what's my credit score", None),
    ("how do i cook rice", None),
    ("show me the grad-cam for my picture", "image"),
    ("what will the oil temperature be", "forecast"),
])
def test_a_question_that_names_the_knowledge_base_is_cued_as_a_question(message, skill):
    cue = A.keyword_cue(message)
    assert (cue[0] if cue else None) == skill


def test_search_normalisation_meets_users_spellings():
    assert "day 4" in A.normalize_for_search("what does day four use")
    assert "sst2" in A.normalize_for_search("what is sst-2")


@pytest.mark.parametrize("query, title", [
    ("what data does day four use", "Day 4"),
    ("wat is sst2", "SST-2"),
    ("who came up with gradcam", "Grad-CAM"),
    ("how many movies did every movielens user rate", "MovieLens 100k"),
    ("recomendation day metric", "Day 1"),
])
def test_retriever_finds_the_passage_despite_spelling(query, title):
    r = A.Retriever(A.KNOWLEDGE_BASE)
    assert A.KNOWLEDGE_BASE[r.search(query, 1)[0][0]]["title"] == title


def test_retriever_scores_nothing_without_a_shared_word():
    r = A.Retriever(A.KNOWLEDGE_BASE)
    assert all(s == 0 for _, s in r.search("zzzz qqqq", 3))


def test_answer_threshold_keeps_answers_more_right_than_wrong():
    # scores 0.9 (F1 100), 0.5 (F1 80), 0.3 (F1 0), 0.1 (F1 0): the best cut keeps the first two
    assert A.choose_answer_threshold([0.9, 0.5, 0.3, 0.1], [100, 80, 0, 0]) == pytest.approx(0.31)
    assert A.choose_answer_threshold([0.9, 0.5], [0, 0]) == pytest.approx(0.91)


def test_validation_questions_have_gold_spans_in_their_passages():
    rows = A.qa_validation_rows()
    assert len(rows) >= 15
    assert all(r["answers"][0] in KB[r["title"]] for r in rows)


def _fake(answer):
    def classify(texts):
        return [{"intent": "question", "confidence": 0.9, "unsure": False} for _ in texts]
    return SimpleNamespace(classify=classify, answer=lambda message: answer)


def test_a_weak_answer_says_not_sure_and_shows_the_passage():
    weak = {"answer": None, "score": 0.05, "confidence": 0.05, "passage": KB["SQuAD"],
            "source": {"title": "SQuAD"}, "sources": []}
    reply = A.Assistant.reply(_fake(weak), "who made squad")
    assert reply.text.startswith(A.NOT_SURE_ANSWER) and KB["SQuAD"] in reply.text and '"SQuAD"' in reply.text
    none = dict(weak, passage=None)
    assert A.Assistant.reply(_fake(none), "who made squad").text == A.NO_ANSWER
    sure = dict(weak, answer="Rajpurkar and colleagues", score=0.8, confidence=0.8)
    reply = A.Assistant.reply(_fake(sure), "who made squad")
    assert reply.text == "Rajpurkar and colleagues" and reply.answer["confidence"] == 0.8


def test_evaluate_routing_and_qa_with_stand_ins():
    rows = [("hello", "greeting"), ("what is squad", "question"), ("order pizza", "out_of_scope")]

    def classify(texts):
        said = {"hello": "greeting", "what is squad": "out_of_scope", "order pizza": "out_of_scope"}
        return [{"intent": said.get(t, "out_of_scope"), "confidence": 0.9, "unsure": False} for t in texts]

    routing = A.evaluate_routing(SimpleNamespace(classify=classify), rows)
    assert routing["accuracy"] == pytest.approx(1.0)  # the knowledge-base cue turns "what is squad" into QA
    assert routing["confusion"].loc["question", "question"] == 1 and routing["errors"].empty

    kb = A.KNOWLEDGE_BASE
    fake = SimpleNamespace(knowledge_base=kb, retriever=A.Retriever(kb), classify=classify)
    fake.answer = lambda q: {"answer": "2016", "score": 0.9, "confidence": 0.9, "passage": KB["SQuAD"],
                             "source": {"title": "SQuAD"}, "sources": []}
    fake.reply = lambda m: A.Assistant.reply(fake, m)
    qa = [{"question": "when was squad published", "answers": ["2016"], "title": "SQuAD"},
          {"question": "who made squad", "answers": ["Rajpurkar and colleagues"], "title": "SQuAD"}]
    out = A.evaluate_qa(fake, qa)
    assert out["qa_route_rate"] == 1.0 and out["em"] == pytest.approx(50.0) and out["recall_at_1"] == 1.0
    assert len(out["table"]) == 2 and np.isclose(out["answered_f1"], 50.0)


def test_skill_classifier_and_answer_threshold_are_chosen_on_validation(tmp_path):
    """train_skill_classifier fits the head and picks the threshold on the validation split; tune_answer_threshold
    picks the chat's answer threshold on the generated questions (never the held-out set)."""
    from transformers import AutoTokenizer

    skills = A.skill_splits(["order a pizza", "what's the weather"], held_out=2, seed=0)
    tiny = A.build_tiny_models(tmp_path, [t for t, _ in skills["train"] + skills["val"]], num_labels=len(A.SKILLS))
    tok = AutoTokenizer.from_pretrained(tiny["intent"])
    model, threshold, scores = A.train_skill_classifier(tiny["intent"], tok, skills, max_length=16, device="cpu")
    assert [model.config.id2label[i] for i in range(len(A.SKILLS))] == A.SKILLS
    assert 0.0 <= threshold < 1.0 and set(scores) >= {"in_scope_accuracy", "oos_recall"}

    seen = []

    def answer(question):
        seen.append(question)
        return {"answer": "2016", "score": 0.7}

    fake = SimpleNamespace(answer=answer, answer_threshold=0.0)
    rows = [{"question": "when was squad published", "answers": ["2016"], "title": "SQuAD"}]
    assert A.tune_answer_threshold(fake, rows) == fake.answer_threshold == 0.0  # a right answer: keep it
    assert seen == ["when was squad published"]
    fake.answer = lambda q: {"answer": "1999", "score": 0.7}
    assert A.tune_answer_threshold(fake, rows) > 0.7  # a wrong answer at 0.7: say "not sure" instead
