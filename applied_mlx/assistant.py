"""Day 3: a transformer assistant. Intent classification with out-of-scope rejection, retrieval
over a small knowledge base, extractive question answering, and a Gradio chat.

The pieces, each usable alone:

- ``load_clinc150`` / ``load_squad``: the public benchmarks (CLINC150 intents + out-of-scope,
  SQuAD v1.1 dev) as plain lists.
- ``encode_texts`` / ``intent_loader``: tokenised tensors for ``training.fit``, each batch cut to its
  longest row (``trim_padding``).
- ``MeanPoolingClassifier`` / ``new_intent_classifier`` / ``train_intent_classifier``: a sequence
  classifier on the mean of the encoder's token vectors (any encoder: BERT, DistilBERT, MiniLM),
  created from a seed and fine-tuned with a faster-learning head and a warm-up + linear schedule
  (``fine_tuning_optimizer``);
  ``load_intent_model`` loads either kind back.
- ``apply_threshold`` / ``choose_threshold``: "I'm not sure" below a max-softmax confidence.
- ``new_qa_model`` / ``train_qa_model``: the span head, created from a seed, and its fine-tuning.
- ``qa_features`` / ``answer_token_span`` / ``best_span`` / ``extract_answers``: long contexts split into
  overlapping windows (a stride), a gold character span turned into start/end token positions for
  training, the answer span found from start/end logits and mapped back to characters through the
  tokenizer's offsets.
- ``squad_em_f1``: the official SQuAD v1.1 exact match and F1.
- ``Retriever``: BM25 + word and character TF-IDF over the knowledge base (no training, forgiving of
  typos, rebuilt exactly from the saved passages).
- ``keyword_cue`` / ``decide_route`` / ``route_message``: the routing rule (the classifier when it is sure,
  else keyword cues), shared with the Day 6 app, which adds the other days' components to the routes.
- ``load_routing_set`` / ``load_qa_set`` / ``evaluate_routing`` / ``evaluate_qa``: the chat measured on
  held-out messages and questions (``Day3_Chatbot/data``), end to end.
- ``Assistant``: the inference class, ``Assistant.load(artifact_dir)`` (the project's component
  contract: ``AssistantConfig`` in ``config.json``, the two models in ``intent/`` and ``qa/``);
  ``chat_demo`` wraps it in a ``gr.ChatInterface`` (messages format).
"""

from __future__ import annotations

import collections
import json
import math
import re
import string
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from .text import shows_something, without_lone_surrogates

COMPONENT = "assistant"
INTENT_MODEL = "distilbert-base-uncased"  # the default for users (downloaded from the hub)
QA_MODEL = "distilbert-base-cased-distilled-squad"
STAND_IN_MODEL = "sentence-transformers/all-MiniLM-L6-v2"  # the offline stand-in (quick profile here)
OOS = "oos"  # CLINC150's out-of-scope label
OUT_OF_SCOPE = "out_of_scope"  # the assistant's own out-of-scope skill
INTENT_DIR = "intent"  # the artifact's subfolders: the intent classifier and the QA model, each with its tokenizer
QA_DIR = "qa"
KB_FILE = "knowledge_base.json"
MAX_MESSAGE_CHARS = 2_000  # longer messages are truncated, not refused
MAX_CONTEXT_CHARS = 50_000  # a longer context is truncated: ~100 windows of 384 tokens

# The assistant's skills, with a few examples each: what the chat classifier is trained on.
SKILL_EXAMPLES: dict[str, list[str]] = {
    "greeting": ["hello", "hi there", "good morning", "hey, how are you", "hi assistant",
                 "good evening", "hello, nice to meet you", "hey there", "greetings", "hiya",
                 "heyy", "hellow", "hey assistant", "hi, how's it going", "hello bot",
                 "good morning assistant", "hi there, how are you today", "what's up", "wassup", "hey yo",
                 "hello friend", "morning bot", "hi, anybody home", "howdy partner", "hey, good to see you",
                 "hi hello", "hello, how are you", "hey there, how is your day going", "g'day",
                 "hi, i just arrived", "hello it's me again", "hey, what's new", "good afternoon bot"],
    "question": ["what is a recommender system", "who wrote the clinc150 data set",
                 "what does the forecaster predict", "how many questions are in squad",
                 "which model classifies images", "what is distilbert", "when was squad published",
                 "what data does day four use", "how does the assistant answer questions",
                 "what is out of scope detection", "what is movielens?", "which day covers time series",
                 "what does applied-mlx contain", "who introduced resnet18", "what's grad cam",
                 "explain what etth1 is", "tell me about the sentiment day", "how many intents does the chatbot know",
                 "which benchmark does day 5 use", "what is an lstm network", "who created sst-2",
                 "describe the day 6 app", "how many parameters does minilm have",
                 "what are the profiles of the notebooks", "what does ndcg measure?", "where does etth1 come from",
                 "what is the hymenoptera dataset", "how does day 2 work", "what is gradio used for here",
                 "what metric does the recommender use", "what does day 1 do", "whats the smoke profile for",
                 "how many images does the image day validate on", "who made the squad benchmark",
                 "what is the stand-in encoder"],
    "recommend": ["recommend me a movie", "what should i watch tonight", "suggest some films",
                  "give me movie recommendations", "any good movies for me",
                  "find me something to watch", "which movies would i like", "recommend a film for user 42",
                  "top ten movies for me", "suggest a comedy", "i liked alien, any similar films",
                  "movies similar to the shining", "recommend something like jurassic park",
                  "what film would you pick for me", "i need a movie for date night", "recomend a good film",
                  "give me some film ideas", "any recommendations for tonight", "show me top picks for user 12",
                  "what movies are like braveheart", "i'm looking for a movie to watch",
                  "suggest movies for user 250", "could you pick a film", "list movies i would enjoy",
                  "what else should i watch after fargo", "a good movie to see please",
                  "movie suggestions for the weekend", "help me choose a movie", "what to watch",
                  "recommend films similar to toy story", "films for me please", "i want to see a great film",
                  "what are the best movies for user 5", "find films like the usual suspects"],
    "sentiment": ["is this review positive or negative", "what is the sentiment of this sentence",
                  "analyse the mood of my text", "was the reviewer happy",
                  "classify the sentiment of i loved it", "is this tweet negative",
                  "how does this review feel", "detect the tone of this comment",
                  "tell me if this text is positive", "sentiment of the movie was awful",
                  "is this review good: the plot was thin", "how does this sound: a wonderful cast",
                  "positive or negative: i want my money back", "what's the mood of this message",
                  "judge the tone: what a lovely day", "does this comment sound upset",
                  "is the writer angry in this text", "sentiment check please: terrible acting",
                  "rate this review as positive or negative", "how does the author feel: bored to tears",
                  "run sentiment on this text", "is this feedback happy", "is the tone negative here",
                  "does this review recommend the film: skip it", "analyse this comment's sentiment",
                  "classify this text as positive or negative", "would you say this is a good review",
                  "is this sentence sad", "how negative is this review", "check the feeling of my message",
                  "sentiment: the best movie i have ever seen", "score this review",
                  "polarity of: the ending ruined it", "was the audience pleased according to this review"],
    "forecast": ["forecast the next day", "predict the oil temperature", "what will the load be tomorrow",
                 "forecast the transformer temperature", "predict the next 96 hours",
                 "show me a time series forecast", "what happens next in this series",
                 "predict future values", "forecast electricity usage", "extrapolate this sequence",
                 "forecast the load for tomorrow", "predict the next 12 hours of load",
                 "what will the oil temp be next week", "forecast 336 hours ahead", "predict the load curve",
                 "how will the load change", "give me the load forecast", "forcast the next two days",
                 "what's the predicted oil temperature", "predict tomorrow's transformer load",
                 "future load please", "how high will the load get next week", "forecast the next hour",
                 "show me the predicted load", "run a forecast", "predict the temperature for the next 48 hours",
                 "what will happen to the oil temperature", "load prediction for the next day",
                 "how will the transformer temperature evolve", "forecast ot", "project the next 24 hours",
                 "estimate tomorrow's load", "predict the next values of the series",
                 "compare the forecast with the actual load"],
    "image": ["what is in this picture", "is this an ant or a bee", "classify my photo",
              "look at this image", "identify the insect in the image", "recognise this picture",
              "what animal is in the photo", "label this image", "is the picture a bee",
              "run the image classifier", "what insect is this", "is this bug a bee",
              "tell me what my photo shows", "can you classify an image", "which bug is in the picture",
              "identify my photo", "is that an ant in my picture", "check my image please",
              "what's this bug", "classify the photo i sent", "is this a bee or an ant",
              "what do you see in this image", "image classification please", "recognize the bug in my pic",
              "ant or bee in my photo?", "look at my picture", "is there an ant in this image",
              "tell me what insect this is", "i have a photo, can you label it", "what creature is in my photo",
              "show me where the model looked in the image", "identify this pic", "classify this snapshot",
              "which class is my image"],
    "goodbye": ["goodbye", "see you later", "thanks, that is all", "talk to you soon",
                "bye bye", "have a nice day", "i am done", "see you", "farewell",
                "byee", "see you soon", "ok goodbye", "thanks, bye", "that will be all",
                "i'm off", "later!", "see ya later", "good bye assistant", "thanks for your help, bye",
                "i'm finished", "all done, thanks", "night night", "time to go", "bye, thank you",
                "catch ya later", "see you next time", "gotta run", "ok that's it", "i'm out",
                "nothing more, goodbye", "adios", "good night bot", "talk to you tomorrow"],
    OUT_OF_SCOPE: ["book a flight to paris", "what is my bank balance", "order a pizza",
                   "set an alarm for seven", "play some jazz", "call my mother",
                   "how do i change a tyre", "transfer money to john", "turn on the lights",
                   "what is the exchange rate of the yen", "what's the weather tomorrow",
                   "will it snow this weekend", "how do i make pancakes", "what is the population of canada",
                   "who is the president of france", "find me a hotel in rome", "what's my pin",
                   "convert 5 miles to kilometers", "how do i fix my wifi", "tell me something funny",
                   "what year is it", "how far is the moon", "where is my package",
                   "what's the best phone to buy", "how do i lose weight", "sing me a song",
                   "what is 12 times 7", "is the bank open today", "how do i file my taxes",
                   "who wrote hamlet", "what's on tv tonight", "how much does a car cost",
                   "how do i learn guitar", "what is the speed of light"],
}
SKILLS = list(SKILL_EXAMPLES)

SKILL_REPLIES = {
    "greeting": "Hello! Ask me a question about this project, or ask for a recommendation, a "
                "sentiment, a forecast or an image label.",
    "recommend": "That is a job for the recommender (Day 1): give it a user id and it returns the top-10 movies.",
    "sentiment": "That is a job for the sentiment classifier (Day 5): send it the text and it says "
                 "positive or negative with a probability.",
    "forecast": "That is a job for the forecaster (Day 4): give it the recent hourly history and a horizon.",
    "image": "That is a job for the image classifier (Day 2): upload a photo of an ant or a bee.",
    "goodbye": "Goodbye! Come back any time.",
    OUT_OF_SCOPE: "I'm not sure I can help with that: it is outside what I was built for.",
}
NOT_SURE = "I'm not sure what you mean. Could you rephrase it?"
NO_ANSWER = "I could not find an answer to that in my knowledge base."
NOT_SURE_ANSWER = "I'm not sure of the exact answer."

# A small knowledge base about the project itself: what the chat answers questions from.
KNOWLEDGE_BASE: list[dict] = [
    {"title": "applied-mlx", "text": "applied-mlx is a collection of six applied machine learning projects, one a "
     "day, each a Colab-ready PyTorch notebook and a reusable component. Day 6 combines them in one Gradio app."},
    {"title": "Day 1", "text": "Day 1, the recommendation day, builds a movie recommender on MovieLens 100k, which "
     "holds 100,000 ratings by 943 users of 1,682 movies. It is judged by nDCG at 10 against the most popular "
     "baseline."},
    {"title": "Day 2", "text": "Day 2, the image classification day, classifies photos of ants and bees by "
     "fine-tuning a ResNet18 network pretrained on ImageNet. The validation set has 153 images, and Grad-CAM "
     "shows where the network looked."},
    {"title": "Day 3", "text": "Day 3, the chatbot day, builds this assistant. It classifies intents with a "
     "transformer trained on CLINC150 and answers questions about the project with extractive question "
     "answering, a model that picks the answer as a span of a retrieved passage."},
    {"title": "Day 4", "text": "Day 4, the time series day, forecasts the Electricity Transformer Temperature data "
     "set ETTh1, which has hourly readings of seven variables including the oil temperature, with an LSTM "
     "network, and compares it with a linear baseline at horizons from 96 to 720 hours."},
    {"title": "Day 5", "text": "Day 5, the sentiment day, classifies the sentiment of sentences from SST-2 as "
     "positive or negative by fine-tuning DistilBERT, then quantizes the model to int8 for faster inference."},
    {"title": "DistilBERT", "text": "DistilBERT is a small transformer distilled from BERT by Hugging Face in "
     "2019. It keeps 97 percent of BERT's language understanding with 40 percent fewer parameters."},
    {"title": "Out-of-scope detection", "text": "Out-of-scope detection means saying I don't know when a "
     "request matches none of the known intents. The assistant rejects a message when the highest "
     "softmax probability is below a threshold chosen on the validation set."},
    {"title": "Day 6", "text": "Day 6, the multimodal day, is one Gradio app that loads the components of Days 1 "
     "to 5: a chat that routes each message by intent, an image tab with Grad-CAM, and a forecast dashboard."},
    {"title": "CLINC150", "text": "CLINC150 is an intent classification benchmark published by Larson and "
     "colleagues at EMNLP 2019. It has 150 intents in 10 domains, 100 training sentences per intent, and "
     "out-of-scope requests that match none of the intents."},
    {"title": "SQuAD", "text": "SQuAD v1.1, the Stanford Question Answering Dataset, was published by Rajpurkar "
     "and colleagues in 2016. Its questions are about Wikipedia paragraphs, and each answer is a span of "
     "its paragraph. The dev set has 10,570 questions on 48 articles."},
    {"title": "ETTh1", "text": "ETTh1 is a time series benchmark published by Zhou and colleagues with the "
     "Informer model at AAAI 2021. It was recorded at an electricity transformer station in China from July "
     "2016 to June 2018, and six of its columns are power loads; the seventh, OT, is the oil temperature."},
    {"title": "MovieLens 100k", "text": "MovieLens 100k is a movie ratings data set collected by GroupLens "
     "Research at the University of Minnesota. Each rating is a whole number of stars from 1 to 5, and every "
     "user rated at least 20 movies."},
    {"title": "SST-2", "text": "SST-2 is the binary Stanford Sentiment Treebank, part of the GLUE benchmark. "
     "Its sentences come from movie reviews, each labelled positive or negative, and its dev set has 872 "
     "sentences."},
    {"title": "Hymenoptera", "text": "The ants and bees images come from PyTorch's transfer learning tutorial, "
     "the hymenoptera data set. It has about 120 training images per class, a small set on which transfer "
     "learning shines."},
    {"title": "ResNet18", "text": "ResNet18 is an 18-layer residual network introduced by He and colleagues at "
     "Microsoft Research in 2015. Its skip connections let very deep networks train."},
    {"title": "LSTM", "text": "An LSTM, or long short-term memory network, is a recurrent neural network "
     "introduced by Hochreiter and Schmidhuber in 1997. Its gates decide what the cell state keeps and what "
     "it forgets."},
    {"title": "Grad-CAM", "text": "Grad-CAM, introduced by Selvaraju and colleagues in 2017, explains an image "
     "classifier by weighting the last convolutional feature maps with their gradients, giving a heatmap of "
     "where the network looked."},
    {"title": "Profiles", "text": "Every notebook runs in one of three profiles set by the APPLIED_MLX_PROFILE "
     "variable: smoke, tiny data and models for the tests; quick, real data sized for a laptop CPU; and full, "
     "the reference protocol on a GPU."},
    {"title": "all-MiniLM-L6-v2", "text": "all-MiniLM-L6-v2 is a sentence embedding model from the "
     "sentence-transformers project, with 6 layers and 22.7 million parameters. It stands in for DistilBERT "
     "when the DistilBERT weights cannot be downloaded."},
    {"title": "Gradio", "text": "Gradio is a Python library for building web interfaces to machine learning "
     "models. The chat of Day 3 is a Gradio ChatInterface, and Day 6 is a Gradio Blocks app."},
    {"title": "nDCG", "text": "nDCG at 10, normalized discounted cumulative gain, scores a top-10 list by the "
     "relevant items it ranks, giving more credit to those near the top; 1 is a perfect ranking."},
]


# ----------------------------------------------------------------------------------- data sets
def load_clinc150(path) -> dict[str, list[tuple[str, str]]]:
    """CLINC150 ``data_full.json`` as splits train/val/test, each in-scope plus its out-of-scope rows
    (label ``"oos"``), as (text, intent) pairs."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return {split: [tuple(x) for x in raw[split] + raw[f"oos_{split}"]] for split in ("train", "val", "test")}


def subsample_per_label(pairs, per_label: int | None, seed: int = 0) -> list[tuple[str, str]]:
    """At most ``per_label`` (text, label) pairs of each label, drawn at random (None: all)."""
    if per_label is None:
        return list(pairs)
    rng = np.random.default_rng(seed)
    by_label = collections.defaultdict(list)
    for pair in pairs:
        by_label[pair[1]].append(pair)
    out = []
    for label in sorted(by_label):
        rows = by_label[label]
        keep = rng.permutation(len(rows))[:per_label]
        out += [rows[i] for i in sorted(keep)]
    return out


def load_squad(path) -> list[dict]:
    """SQuAD v1.1 JSON flattened to one dict per question: id, title, context, question, answers
    (the list of texts) and answer_starts (their character offsets)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = []
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                rows.append({"id": qa["id"], "title": article["title"], "context": paragraph["context"],
                             "question": qa["question"], "answers": [a["text"] for a in qa["answers"]],
                             "answer_starts": [a["answer_start"] for a in qa["answers"]]})
    return rows


def split_by_title(rows: list[dict], train_titles: int) -> tuple[list[dict], list[dict]]:
    """(rows of the first ``train_titles`` articles, rows of the others): disjoint articles, so no
    paragraph is seen in training and in evaluation."""
    titles = list(dict.fromkeys(r["title"] for r in rows))
    chosen = set(titles[:train_titles])
    return [r for r in rows if r["title"] in chosen], [r for r in rows if r["title"] not in chosen]


# ----------------------------------------------------------------------------------- profiles
# Every profile also sets: squad_train_titles (the SQuAD articles whose questions may be trained on; the
# others are evaluated), answer_threshold (the span probability below which the assistant says it found no
# answer, a stated choice), and the chat classifier's data: skill_oos_examples CLINC150 out-of-scope requests,
# skill_held_out examples per skill for its threshold, batches of skill_batch_size.
_COMMON = dict(answer_threshold=0.1, skill_oos_examples=60, skill_held_out=2, skill_batch_size=16)
PROFILE_SETTINGS = {
    # smoke: the skill examples stand in for the benchmark, tiny random models, one pass
    "smoke": dict(intent_model=None, qa_model=None, train_per_intent=None, val_per_intent=None,
                  max_length=32, intent_pooling="mean", intent_epochs=1, intent_lr=1e-3, intent_head_lr=1e-3,
                  warmup=0.1, batch_size=16,
                  qa_train_questions=40, qa_eval_questions=20, qa_max_length=64, qa_stride=16,
                  qa_epochs=1, qa_lr=1e-3, skill_epochs=1, skill_lr=1e-3, squad_train_titles=5, **_COMMON),
    # quick: real CLINC150 / SQuAD, the small stand-in encoder, subsets sized for ten minutes on a 2-core CPU.
    # Mean pooling and a head learning 30x faster than the encoder under a warm-up + linear schedule:
    # measured against the [CLS] head at one learning rate (see studies/day3/README.md).
    "quick": dict(intent_model=STAND_IN_MODEL, qa_model=STAND_IN_MODEL, train_per_intent=30, val_per_intent=5,
                  max_length=32, intent_pooling="mean", intent_epochs=2, intent_lr=1e-4, intent_head_lr=3e-3,
                  warmup=0.1, batch_size=32,
                  qa_train_questions=2000, qa_eval_questions=300, qa_max_length=192, qa_stride=64,
                  qa_epochs=1, qa_lr=2e-4, skill_epochs=8, skill_lr=1e-4, squad_train_titles=24, **_COMMON),
    # full: the reference protocol (GPU): DistilBERT on all of CLINC150 with its usual [CLS] head, the
    # SQuAD-distilled DistilBERT evaluated as is on the whole dev set (qa_train_questions=0: no fine-tuning)
    "full": dict(intent_model=INTENT_MODEL, qa_model=QA_MODEL, train_per_intent=None, val_per_intent=None,
                 max_length=64, intent_pooling="cls", intent_epochs=3, intent_lr=5e-5, intent_head_lr=None,
                 warmup=None, batch_size=32,
                 qa_train_questions=0, qa_eval_questions=None, qa_max_length=384, qa_stride=128,
                 qa_epochs=0, qa_lr=3e-5, skill_epochs=10, skill_lr=5e-5, squad_train_titles=24, **_COMMON),
}


def settings(profile: str) -> dict:
    """The sizes and models of a profile (a copy: change it freely)."""
    if profile not in PROFILE_SETTINGS:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(PROFILE_SETTINGS)}")
    return dict(PROFILE_SETTINGS[profile])


def smoke_intent_splits() -> dict[str, list[tuple[str, str]]]:
    """The skill examples as a tiny intent benchmark (train/val/test), ``out_of_scope`` as its
    out-of-scope class: what the smoke profile runs on, offline."""
    splits = {"train": [], "val": [], "test": []}
    for label, texts in SKILL_EXAMPLES.items():
        splits["train"] += [(t, label) for t in texts[:6]]
        splits["val"] += [(t, label) for t in texts[6:8]]
        splits["test"] += [(t, label) for t in texts[8:]]
    return splits


def smoke_squad_rows() -> list[dict]:
    """Tiny SQuAD-style rows generated from the knowledge base (the answer: the passage's first
    three words), for the smoke profile."""
    rows = []
    for i, p in enumerate(KNOWLEDGE_BASE):
        for j, q in enumerate((f"what is {p['title']}", f"tell me about {p['title']}", "what is it")):
            answer = " ".join(p["text"].split()[:3])
            rows.append({"id": f"smoke-{i}-{j}", "title": p["title"], "context": p["text"], "question": q,
                         "answers": [answer], "answer_starts": [0]})
    return rows


# Questions about a passage, as users ask them: the chat classifier's "question" examples beyond the written
# ones, so that it learns that naming what the knowledge base covers is a question (filled with each title).
KB_QUESTION_TEMPLATES = ("what is {t}", "tell me about {t}", "who made {t}", "what does {t} do", "whats {t}",
                         "how many ... in {t}", "when was {t} published", "explain {t}", "what is {t} used for",
                         "{t}?", "what do you know about {t}", "how does {t} work", "which data does {t} use",
                         "who published {t}")
# CLINC150 intents that are one of the assistant's skills; every other intent is out of scope for it.
# Chat acts that are neither a skill nor out of scope ("yes", "no", "thank you") are left out.
CLINC_SKILLS = {"greeting": "greeting", "goodbye": "goodbye"}
CLINC_LEFT_OUT = ("thank_you", "yes", "no", "maybe", "repeat", "what_can_i_ask_you")


def typo(text: str, rng) -> str:
    """``text`` as typed in a hurry: lower case, no punctuation, one letter of a longer word dropped or swapped."""
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    long = [i for i, w in enumerate(words) if len(w) > 3]
    if long:
        i = long[int(rng.integers(len(long)))]
        w, k = words[i], int(rng.integers(1, len(words[i]) - 1))
        words[i] = w[:k] + w[k + 1:] if rng.random() < 0.5 else w[:k - 1] + w[k] + w[k - 1] + w[k + 1:]
    return " ".join(words) or text


def kb_questions(passages=None, per_passage: int = 3, seed: int = 0) -> list[str]:
    """``per_passage`` questions about each passage's title, from ``KB_QUESTION_TEMPLATES`` drawn at random."""
    rng = np.random.default_rng(seed)
    out = []
    for p in passages or KNOWLEDGE_BASE:
        title = p.get("title", "").lower()
        if title:
            out += [KB_QUESTION_TEMPLATES[i].format(t=title)
                    for i in rng.permutation(len(KB_QUESTION_TEMPLATES))[:per_passage]]
    return out


def clinc_skill_pairs(pairs, per_intent: int = 2, per_skill: int = 15, seed: int = 0) -> list[tuple[str, str]]:
    """CLINC150 (text, intent) pairs mapped to the assistant's skills: ``per_skill`` rows of each intent in
    ``CLINC_SKILLS``, ``per_intent`` rows of every other in-scope intent as ``out_of_scope`` (they are real
    requests the assistant cannot serve, many phrased as questions), CLINC's own out-of-scope rows left to
    the caller."""
    mapped = [(t, CLINC_SKILLS.get(y, OUT_OF_SCOPE), y) for t, y in pairs if y != OOS and y not in CLINC_LEFT_OUT]
    out = []
    rng = np.random.default_rng(seed)
    by_intent = collections.defaultdict(list)
    for t, skill, y in mapped:
        by_intent[y].append((t, skill))
    for y in sorted(by_intent):
        rows = by_intent[y]
        n = per_skill if y in CLINC_SKILLS else per_intent
        out += [rows[i] for i in sorted(rng.permutation(len(rows))[:n])]
    return out


def skill_splits(oos_texts: list[str], held_out: int = 2, seed: int = 0,
                 clinc=None) -> dict[str, list[tuple[str, str]]]:
    """The chat classifier's data: the skill examples and a typo'd copy of each, questions about every
    knowledge-base passage (``kb_questions``), ``oos_texts`` (say, CLINC150's out-of-scope requests) as extra
    ``out_of_scope`` rows and, given ``clinc`` (CLINC150's (text, intent) training pairs), its intents mapped to
    skills (``clinc_skill_pairs``). A fifth of each source (at least ``held_out`` written examples per skill)
    goes to a validation split for the threshold; a typo'd copy stays on the side of its original. A text of
    the held-out evaluation sets (``load_routing_set``, ``load_qa_set``) is never in either split."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    held = held_out_texts()

    def split(pairs, at_least=0):
        order = rng.permutation(len(pairs))
        cut = max(at_least, len(pairs) // 5)
        return [pairs[i] for i in order[cut:]], [pairs[i] for i in order[:cut]]

    for label, texts in SKILL_EXAMPLES.items():
        rows = [(t, label) for t in texts]
        tr, va = split(rows, held_out)
        train += tr + [(typo(t, rng), y) for t, y in tr]
        val += va + [(typo(t, rng), y) for t, y in va]
    for rows in ([(t, "question") for t in kb_questions(seed=seed)], [(t, OUT_OF_SCOPE) for t in oos_texts],
                 clinc_skill_pairs(clinc, seed=seed) if clinc is not None else []):
        tr, va = split(list(rows))
        train += tr
        val += va
    keep = lambda pairs: [(t, y) for t, y in pairs if t.strip().lower() not in held]
    return {"train": keep(train), "val": keep(val)}


def held_out_texts() -> set[str]:
    """The messages and questions of the held-out evaluation sets, lower case (empty where the files are absent,
    as in an installed package without the repository)."""
    texts = set()
    if (DATA_DIR / "routing_set.csv").is_file():
        texts |= {t.strip().lower() for t, _ in load_routing_set()}
    if (DATA_DIR / "qa_set.jsonl").is_file():
        texts |= {r["question"].strip().lower() for r in load_qa_set()}
    return texts


# ----------------------------------------------------------------------------------- tiny models
def build_tiny_models(folder, texts, num_labels: int, seed: int = 0) -> dict[str, str]:
    """Build a tiny random BERT (a vocabulary from ``texts``) for sequence classification and one for
    QA, ``save_pretrained`` them under ``folder``; return {"intent": dir, "qa": dir}.

    The smoke profile and the tests load them back with ``from_pretrained``: the real loading path.
    """
    from transformers import BertConfig, BertForQuestionAnswering, BertForSequenceClassification, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    words = sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower())})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + list(string.ascii_lowercase + string.digits)
    vocab = list(dict.fromkeys(vocab))
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True,
                                  model_input_names=["input_ids", "token_type_ids", "attention_mask"])
    config = dict(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=512)
    torch.manual_seed(seed)
    out = {}
    for name, cls, extra in (("intent", BertForSequenceClassification, {"num_labels": num_labels}),
                             ("qa", BertForQuestionAnswering, {})):
        model = cls(BertConfig(**config, **extra))
        path = folder / name
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
        out[name] = str(path)
    return out


# ----------------------------------------------------------------------------------- intents
def encode_texts(tokenizer, texts, max_length: int) -> dict[str, torch.Tensor]:
    """Tokenise ``texts`` padded to the longest (at most ``max_length``) with attention masks."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    return {k: v for k, v in enc.items() if k in tokenizer.model_input_names}


_SEQUENCE_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def trim_batch(batch: dict) -> dict:
    """Cut the token columns of a right-padded batch to its longest row (by ``attention_mask``): the
    padding every row shares changes no output (it is masked) but costs as much compute as a token."""
    n = max(int(batch["attention_mask"].sum(1).max()), 1)
    return {k: v[:, :n] if k in _SEQUENCE_KEYS else v for k, v in batch.items()}


class TrimmedLoader:
    """``loader``'s dict batches through ``trim_batch``; its length is the loader's."""

    def __init__(self, loader):
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        return (trim_batch(b) for b in self.loader)


def trim_padding(tensors: dict, batch_size: int, shuffle: bool = False, seed: int | None = None) -> TrimmedLoader:
    """Batches of ``tensors`` (token columns + targets), each cut to its longest row. In order without
    ``shuffle``; with it, the sentiment day's ``LengthBucketSampler``: random batches of similar
    lengths (little padding left to compute), a new order every epoch, repeatable from ``seed``."""
    from .training import LengthBucketSampler, TensorBatches, tensor_loader

    if not shuffle:
        return TrimmedLoader(tensor_loader(tensors, batch_size=batch_size))
    lengths = tensors["attention_mask"].sum(1).numpy()
    sampler = LengthBucketSampler(lengths, batch_size, seed=0 if seed is None else seed)
    return TrimmedLoader(torch.utils.data.DataLoader(TensorBatches(tensors), batch_size=None, sampler=sampler))


def intent_loader(tokenizer, pairs, label_to_id: dict, max_length: int, batch_size: int,
                  shuffle: bool = False, seed: int | None = None) -> TrimmedLoader:
    """Dict batches (model inputs + ``labels``) from (text, label) pairs, each cut to its longest text."""
    tensors = encode_texts(tokenizer, [t for t, _ in pairs], max_length)
    tensors["labels"] = torch.tensor([label_to_id[y] for _, y in pairs])
    return trim_padding(tensors, batch_size, shuffle=shuffle, seed=seed)


def _dropout_of(config) -> float:
    for name in ("classifier_dropout", "seq_classif_dropout", "hidden_dropout_prob", "dropout"):
        value = getattr(config, name, None)
        if value is not None:
            return float(value)
    return 0.1


class MeanPoolingClassifier(PreTrainedModel):
    """A sequence classifier: the encoder's token vectors averaged over the real tokens (the attention
    mask), dropout, one linear layer. Works on any ``AutoModel`` encoder (BERT, DistilBERT, MiniLM);
    the config is the encoder's own (``num_labels``, ``id2label``), so ``save_pretrained`` and
    ``from_pretrained`` (through ``load_intent_model``) round-trip it.

    Why not the usual [CLS] head: a sentence encoder such as all-MiniLM-L6-v2 was trained so that its
    *mean* token vector is a sentence embedding, while its [CLS] vector and pooler were not; a linear
    layer on an embedding that already places paraphrases together learns 150 intents in a few hundred
    steps.
    """

    config_class = PretrainedConfig
    base_model_prefix = "backbone"

    def __init__(self, config):
        super().__init__(config)
        self.backbone = AutoModel.from_config(config)
        self.dropout = nn.Dropout(_dropout_of(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def _init_weights(self, module):
        if module is self.classifier:
            nn.init.normal_(module.weight, std=getattr(self.config, "initializer_range", 0.02))
            nn.init.zeros_(module.bias)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        logits = self.classifier(self.dropout(pooled))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def new_intent_classifier(source, labels, pooling: str = "mean", seed: int = 0):
    """A classifier for ``labels`` on the pretrained encoder at ``source`` with a fresh head drawn from
    ``seed`` (the same head in every process, whatever ran before). pooling: ``"mean"``
    (``MeanPoolingClassifier``) or ``"cls"`` (``AutoModelForSequenceClassification``, the [CLS] head).
    The weights are read from safetensors only (a ``pytorch_model.bin`` is a pickle: never loaded)."""
    from transformers import AutoModelForSequenceClassification

    labels = list(labels)
    maps = dict(num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={y: i for i, y in enumerate(labels)})
    torch.manual_seed(seed)
    if pooling == "cls":
        return AutoModelForSequenceClassification.from_pretrained(source, ignore_mismatched_sizes=True,
                                                                  use_safetensors=True, **maps)
    if pooling != "mean":
        raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
    model = MeanPoolingClassifier(AutoConfig.from_pretrained(source, **maps))
    model.backbone.load_state_dict(AutoModel.from_pretrained(source, use_safetensors=True).state_dict())
    return model


def load_intent_model(path):
    """A saved intent classifier, either kind (``MeanPoolingClassifier`` or a transformers one), from its
    safetensors weights: a folder holding only a pickle-based ``pytorch_model.bin`` is not loaded."""
    from transformers import AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(path)
    if MeanPoolingClassifier.__name__ in (config.architectures or []):
        return MeanPoolingClassifier.from_pretrained(path, config=config, use_safetensors=True)
    return AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True)


def fine_tuning_optimizer(model, lr: float, head_lr: float | None, steps: int, warmup: float | None):
    """(AdamW, scheduler): the encoder at ``lr``, the head (the parameters outside the base encoder) at
    ``head_lr`` (None: ``lr``), and a warm-up + linear decay over ``steps`` batches (``warmup`` None: no
    scheduler, a constant rate). Step the scheduler after every batch."""
    from .training import linear_warmup_scheduler

    prefix = model.base_model_prefix + "."
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [{"params": [p for n, p in named if n.startswith(prefix)], "lr": lr},
              {"params": [p for n, p in named if not n.startswith(prefix)], "lr": head_lr or lr}]
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]])
    return optimizer, (None if warmup is None else linear_warmup_scheduler(optimizer, steps, warmup))


_optimizer = fine_tuning_optimizer  # the earlier private name


def train_intent_classifier(model, tokenizer, train_pairs, val_pairs, *, max_length: int, batch_size: int,
                            epochs: int, lr: float, head_lr: float | None = None, warmup: float | None = 0.1,
                            monitor: str | None = None, device=None, seed: int = 0, progress: bool = True):
    """Fine-tune ``model`` on (text, label) pairs with ``training.fit``: shuffled batches from ``seed``,
    the head at ``head_lr``, the schedule of ``_optimizer``, validation loss and accuracy each epoch
    and the best epoch's weights kept. Returns the ``FitResult``."""
    from .metrics import accuracy_from_logits
    from .training import fit

    to_id = model.config.label2id
    train = intent_loader(tokenizer, train_pairs, to_id, max_length, batch_size, shuffle=True, seed=seed)
    val = intent_loader(tokenizer, val_pairs, to_id, max_length, 128)
    optimizer, scheduler = fine_tuning_optimizer(model, lr, head_lr, len(train) * epochs, warmup)
    return fit(model, train, val, optimizer=optimizer, num_epochs=epochs, scheduler=scheduler,
               scheduler_interval="batch", metrics={"accuracy": accuracy_from_logits}, monitor=monitor,
               device=device, seed=seed, progress=progress)


def apply_threshold(probs, threshold: float, oos_index: int) -> np.ndarray:
    """Predicted label ids, with ``oos_index`` wherever the highest probability is below ``threshold``."""
    probs = np.asarray(probs)
    pred = probs.argmax(axis=1)
    return np.where(probs.max(axis=1) < threshold, oos_index, pred)


def oos_scores(y_true, y_pred, oos_index: int) -> dict[str, float]:
    """CLINC150's metrics: in-scope accuracy, out-of-scope recall and precision."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    ins, oos = y_true != oos_index, y_true == oos_index
    said_oos = y_pred == oos_index
    return {
        "in_scope_accuracy": float((y_pred[ins] == y_true[ins]).mean()) if ins.any() else float("nan"),
        "oos_recall": float(said_oos[oos].mean()) if oos.any() else float("nan"),
        "oos_precision": float(oos[said_oos].mean()) if said_oos.any() else 0.0,
    }


def choose_threshold(probs, y_true, oos_index: int, grid=None) -> tuple[float, dict]:
    """The confidence threshold that maximises the mean of in-scope accuracy and out-of-scope recall
    on a validation set; returns (threshold, its scores). Ties go to the lowest threshold."""
    grid = np.round(np.arange(0.0, 1.0, 0.01), 2) if grid is None else grid
    best = None
    for t in grid:
        s = oos_scores(y_true, apply_threshold(probs, float(t), oos_index), oos_index)
        score = (s["in_scope_accuracy"] + s["oos_recall"]) / 2
        if best is None or score > best[0] + 1e-12:
            best = (score, float(t), s)
    return best[1], best[2]


# ----------------------------------------------------------------------------------- QA
def question_budget(tokenizer, max_length: int, stride: int) -> int:
    """The most tokens a question may take in a QA window of ``max_length`` tokens overlapping by ``stride``.

    Half of what the window leaves after its special tokens and the stride: the context then advances by
    at least as many tokens as the question takes from one window to the next, so a long question neither
    leaves the tokenizer no room (it fails, or panics, when the context part is not longer than the
    stride) nor multiplies the windows of a long context. ValueError when the window has no such room.
    """
    free = int(max_length) - tokenizer.num_special_tokens_to_add(pair=True) - int(stride)
    if int(stride) < 0 or free < 2:
        raise ValueError(f"a QA window of {max_length} tokens with a stride of {stride} leaves no room for a "
                         f"question and its context; use a max_length above 2 * stride + "
                         f"{tokenizer.num_special_tokens_to_add(pair=True) + 2} and a stride >= 0")
    return free // 2


def fit_questions(tokenizer, questions, max_length: int, stride: int) -> list[str]:
    """``questions``, each cut to its first ``question_budget`` tokens (at a token's end, in characters)."""
    budget = question_budget(tokenizer, max_length, stride)
    questions = list(questions)
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for question, ids, offsets in zip(questions, enc["input_ids"], enc["offset_mapping"]):
        keep, n = budget, len(ids)
        while n > budget and keep >= 1:  # a cut word may tokenise into more pieces: cut again until it fits
            question = question[:offsets[keep - 1][1]]
            n = len(tokenizer(question, add_special_tokens=False)["input_ids"])
            keep -= max(n - budget, 1)
        if n > budget:
            raise ValueError(f"a question could not be cut to the {budget} tokens a QA window leaves it: "
                             "use a longer max_length or a shorter stride")
        out.append(question)
    return out


def qa_features(tokenizer, questions, contexts, max_length: int = 384, stride: int = 128):
    """Tokenise (question, context) pairs into windows of ``max_length`` tokens; a context longer than
    a window is split into several that overlap by ``stride`` tokens (only the context is cut). A
    question longer than ``question_budget`` tokens keeps its first ones.

    Returns the BatchEncoding with ``overflow_to_sample_mapping`` (window -> pair) and
    ``offset_mapping`` set to None outside the context, so spans can only come from the context.
    """
    questions = fit_questions(tokenizer, questions, max_length, stride)
    enc = tokenizer(questions, list(contexts), truncation="only_second", max_length=max_length,
                    stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                    padding="max_length")
    offsets = []
    for i in range(len(enc["input_ids"])):
        seq = enc.sequence_ids(i)
        offsets.append([o if seq[k] == 1 else None for k, o in enumerate(enc["offset_mapping"][i])])
    enc["offset_mapping"] = offsets
    return enc


def answer_token_span(offsets, answer_start: int, answer_end: int) -> tuple[int, int]:
    """The (start, end) token indices that cover the characters ``answer_start:answer_end`` in one window,
    from its offsets (None outside the context); (0, 0), the [CLS] token, when the window does not hold
    the whole answer."""
    ctx = [k for k, o in enumerate(offsets) if o is not None]
    if not ctx or offsets[ctx[0]][0] > answer_start or offsets[ctx[-1]][1] < answer_end:
        return 0, 0
    start = next(k for k in ctx if offsets[k][1] > answer_start)  # the first token that ends after it starts
    end = next(k for k in reversed(ctx) if offsets[k][0] < answer_end)  # the last token that starts before it ends
    return start, end


def qa_train_tensors(tokenizer, rows, max_length: int = 384, stride: int = 128) -> dict[str, torch.Tensor]:
    """Training tensors for SQuAD-style rows: model inputs plus ``start_positions``/``end_positions``
    (token indices of the first answer; 0, the [CLS] token, when a window does not hold it)."""
    enc = qa_features(tokenizer, [r["question"] for r in rows], [r["context"] for r in rows], max_length, stride)
    starts, ends = [], []
    for i, offsets in enumerate(enc["offset_mapping"]):
        row = rows[enc["overflow_to_sample_mapping"][i]]
        a_start = row["answer_starts"][0]
        start, end = answer_token_span(offsets, a_start, a_start + len(row["answers"][0]))
        starts.append(start)
        ends.append(end)
    tensors = {k: torch.tensor(enc[k]) for k in tokenizer.model_input_names if k in enc}
    tensors["start_positions"] = torch.tensor(starts)
    tensors["end_positions"] = torch.tensor(ends)
    return tensors


def new_qa_model(source, seed: int = 0):
    """``AutoModelForQuestionAnswering`` on ``source`` (safetensors weights only), its span head (when new)
    drawn from ``seed``."""
    from transformers import AutoModelForQuestionAnswering

    torch.manual_seed(seed)
    return AutoModelForQuestionAnswering.from_pretrained(source, use_safetensors=True)


def train_qa_model(model, tokenizer, rows, *, max_length: int, stride: int, epochs: int, lr: float,
                   warmup: float | None = 0.1, batch_size: int = 16, device=None, seed: int = 0,
                   progress: bool = True):
    """Fine-tune a QA model on SQuAD-style rows (``qa_train_tensors``; batches cut to their longest
    window) with ``training.fit`` and a warm-up + linear schedule. Returns (FitResult, windows)."""
    from .training import fit

    tensors = qa_train_tensors(tokenizer, rows, max_length, stride)
    loader = trim_padding(tensors, batch_size, shuffle=True, seed=seed)
    optimizer, scheduler = fine_tuning_optimizer(model, lr, None, len(loader) * epochs, warmup)
    result = fit(model, loader, optimizer=optimizer, num_epochs=epochs, scheduler=scheduler,
                 scheduler_interval="batch", device=device, seed=seed, progress=progress)
    return result, len(tensors["input_ids"])


def best_span(start_logits, end_logits, offsets, max_answer_tokens: int = 30) -> tuple[int, int, float]:
    """The (start, end) token pair with the highest start + end logit among context tokens (offsets
    not None), with start <= end < start + max_answer_tokens; and its probability, the product of the
    start and end softmax probabilities over the context tokens. (-1, -1, 0.0) without context."""
    start_logits, end_logits = np.asarray(start_logits, float), np.asarray(end_logits, float)
    ctx = np.array([o is not None for o in offsets])
    if not ctx.any():
        return -1, -1, 0.0
    s = np.where(ctx, start_logits, -np.inf)
    e = np.where(ctx, end_logits, -np.inf)
    n = len(s)
    scores = s[:, None] + e[None, :]
    i, j = np.indices((n, n))
    scores = np.where((j >= i) & (j < i + max_answer_tokens), scores, -np.inf)
    start, end = np.unravel_index(np.argmax(scores), scores.shape)
    ps = np.exp(s - s.max())
    pe = np.exp(e - e.max())
    prob = ps[start] / ps.sum() * pe[end] / pe.sum()
    return int(start), int(end), float(prob)


@torch.no_grad()
def extract_answers(model, tokenizer, questions, contexts, max_length: int = 384, stride: int = 128,
                    max_answer_tokens: int = 30, batch_size: int = 32) -> list[dict]:
    """For each (question, context): the best answer span over all its windows, as
    {"text", "start", "end" (characters), "score" (span probability in its window)}."""
    model.eval()
    device = next(model.parameters()).device
    enc = qa_features(tokenizer, questions, contexts, max_length, stride)
    inputs = {k: torch.tensor(enc[k]) for k in tokenizer.model_input_names if k in enc}
    n = inputs["input_ids"].shape[0]
    best = [{"text": "", "start": -1, "end": -1, "score": 0.0} for _ in questions]
    for lo in range(0, n, batch_size):
        batch = trim_batch({k: v[lo:lo + batch_size] for k, v in inputs.items()})
        out = model(**{k: v.to(device) for k, v in batch.items()})
        for b in range(out.start_logits.shape[0]):
            w = lo + b
            offsets = enc["offset_mapping"][w][:out.start_logits.shape[1]]
            s, e, p = best_span(out.start_logits[b].float().cpu().numpy(), out.end_logits[b].float().cpu().numpy(),
                                offsets, max_answer_tokens)
            q = enc["overflow_to_sample_mapping"][w]
            if s >= 0 and p > best[q]["score"]:
                c0, c1 = offsets[s][0], offsets[e][1]
                best[q] = {"text": contexts[q][c0:c1], "start": c0, "end": c1, "score": p}
    return best


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _f1(prediction: str, truth: str) -> float:
    pred, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    common = collections.Counter(pred) & collections.Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def squad_em_f1(predictions, answers) -> dict[str, float]:
    """SQuAD v1.1 exact match and F1 in percent: each prediction scored against the best of its
    ground-truth answers, then averaged (the official evaluate-v1.1 script's definition)."""
    if len(predictions) != len(answers) or not predictions:
        raise ValueError(f"need as many predictions as answer lists (>0), got {len(predictions)} and {len(answers)}")
    em = [max(float(normalize_answer(p) == normalize_answer(a)) for a in golds)
          for p, golds in zip(predictions, answers)]
    f1 = [max(_f1(p, a) for a in golds) for p, golds in zip(predictions, answers)]
    return {"exact_match": 100 * float(np.mean(em)), "f1": 100 * float(np.mean(f1))}


# ----------------------------------------------------------------------------------- retrieval
def passage_scores(retrieval, span, span_weight: float = 0.5) -> np.ndarray:
    """Which retrieved passage answers: BERTserini's interpolation of the retriever's and the reader's
    scores (Yang et al. 2019), the retrieval score scaled by the best one. The reader alone picks a
    confident span in an off-topic passage ("150" from the CLINC passage for a question about ETTh1);
    a passage that shares no term with the question (retrieval 0) is never chosen over one that does."""
    retrieval, span = np.asarray(retrieval, dtype=float), np.asarray(span, dtype=float)
    top = retrieval.max()
    scaled = retrieval / top if top > 0 else retrieval
    combined = (1 - span_weight) * scaled + span_weight * span
    return np.where((retrieval > 0) | (top <= 0), combined, -np.inf)


def check_passages(passages) -> list[dict]:
    """A copy of ``passages`` checked to be a non-empty list of {"title" (optional), "text"} dicts of
    strings; ValueError naming the first passage that is not."""
    if not isinstance(passages, (list, tuple)) or not passages:
        raise ValueError("the knowledge base is empty or not a list: give at least one {'title', 'text'} passage")
    for i, p in enumerate(passages):
        if not isinstance(p, dict) or not isinstance(p.get("text"), str) or not p["text"].strip():
            raise ValueError(f"passage {i} of the knowledge base must be a {{'title', 'text'}} dict with a "
                             f"non-empty text, got {p!r:.80}")
        if not isinstance(p.get("title", ""), str):
            raise ValueError(f"passage {i} of the knowledge base has a title that is not a str: {p['title']!r:.60}")
    return [dict(p) for p in passages]


_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten".split())}


def normalize_for_search(text: str) -> str:
    """Lower case, number words as digits ("day four" -> "day 4"), and each hyphenated or letter-digit name
    also written joined ("sst-2" -> "sst-2 sst2", "grad cam" stays two words), so that users' spellings meet."""
    text = text.lower()
    text = re.sub(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", lambda m: _NUMBER_WORDS[m.group(1)], text)
    joined = re.findall(r"\b\w+(?:-\w+)+\b", text)
    return " ".join([text, *[j.replace("-", "") for j in joined]])


class Retriever:
    """Lexical retrieval over passages ({"title", "text"}): BM25 on words, interpolated with TF-IDF cosine on
    words and bigrams and on character 3-5-grams (the last forgives typos and word forms: "recomend",
    "forecasting" / "forecasts"). Each score is scaled by the best passage's, then weighted by ``weights``
    (BM25, word TF-IDF, character TF-IDF). The title counts twice. Fitted on the knowledge base only, so it is
    rebuilt exactly from the saved passages (nothing pickled)."""

    def __init__(self, passages: list[dict], weights=(0.4, 0.3, 0.3), k1: float = 1.2, b: float = 0.75):
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        self.passages = check_passages(passages)
        self.weights = tuple(float(w) for w in weights)
        docs = [normalize_for_search(f"{p.get('title', '')} {p.get('title', '')} {p['text']}") for p in self.passages]
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
        self.matrix = self.vectorizer.fit_transform(docs)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        self.char_matrix = self.chars.fit_transform(docs)
        self.counts = CountVectorizer(stop_words="english")
        tf = self.counts.fit_transform(docs).toarray().astype(float)
        n, df = len(docs), (tf > 0).sum(0)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        length = tf.sum(1, keepdims=True)
        self.bm25 = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / max(length.mean(), 1e-9)))

    def scores(self, query: str) -> np.ndarray:
        """One score per passage in [0, 1]: the weighted mean of the three scores, each scaled by its best."""
        q = normalize_for_search(query)
        parts = [self.bm25 @ (self.counts.transform([q]).toarray().ravel() > 0),
                 (self.matrix @ self.vectorizer.transform([q]).T).toarray().ravel(),
                 (self.char_matrix @ self.chars.transform([q]).T).toarray().ravel()]
        words = parts[0].max() > 0 or parts[1].max() > 0
        total = np.zeros(len(self.passages))
        for w, s in zip(self.weights, parts):
            total += w * (s / s.max() if s.max() > 0 else s)
        return total if words else np.zeros(len(self.passages))  # no shared word: nothing is relevant

    def search(self, query: str, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` best (passage index, score), best first; scores 0 mean no shared word."""
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in order]


# ----------------------------------------------------------------------------------- routing
ROUTE_CONFIDENCE = 0.5  # the classifier's intent stands at or above this; below it a keyword cue may decide
# What the knowledge base is about, as users name it: a question that names one of these is a question for
# the knowledge base even when the classifier is unsure ("what is the oil temperature in etth1").
KB_ENTITIES = (r"applied[- ]?mlx|day ?[1-6]|day (?:one|two|three|four|five|six)|"
               r"(?:recommendation|image(?: classification)?|chatbot|time series|forecasting|sentiment|multimodal)"
               r" day|"
               r"clinc(?:150)?|squad|ett(?:h1)?|movielens(?: 100k)?|sst-?2|glue|hymenoptera|imagenet|resnet(?:18)?|"
               r"lstms?|grad[- ]?cam|(?:all-)?minilm(?:-l6-v2)?|distilbert|bert|gradio|ndcg|informer|"
               r"(?:smoke|quick|full) profile|profiles|out[- ]of[- ]scope detection|"
               r"extractive (?:qa|question answering)")
# Keyword cues, checked in this order: a question that names what the knowledge base covers, then explicit
# phrasings that carry what a skill needs (a title, a text, a horizon). They decide only when the classifier
# is unsure or says out-of-scope: a tie-breaker, not the router.
CUES: tuple[tuple[str, str], ...] = (
    ("question", r"^(?:what|whats|what's|wat|who|when|where|which|why|how|is|are|does|do|tell me about|explain|"
                 r"describe)\b.*\b(?:" + KB_ENTITIES + r")\b|\b(?:" + KB_ENTITIES + r")\b[^?]*\?\s*$"),
    ("sentiment", r"\b(review|sentiment|how does this (sound|read|feel)|positive or negative|tone of)\b"),
    ("recommend", r"\b(recommend\w*|suggest\w*|something like|similar to|movies? like|films? like|"
                  r"what (should|can) i watch|for user \d+)\b"),
    ("forecast", r"\b(forecast\w*|tomorrow|next \d+ (hours?|days?)|next (hour|day|week)|the load|"
                 r"oil temperature)\b"),
    ("image", r"\b(image|photo|picture|ant or a bee|bee or an ant)\b"),
)


@dataclass
class Route:
    """How a message was routed: the skill, the classifier's view and the cue, and why, in words."""

    skill: str
    intent: str | None
    confidence: float | None
    cue: str | None
    reason: str


def keyword_cue(message: str) -> tuple[str, str] | None:
    """The first cue that matches: (skill, the words matched), or None."""
    text = message.strip().lower()[:MAX_MESSAGE_CHARS]  # the classifier reads no more either
    for skill, pattern in CUES:
        found = re.search(pattern, text)
        if found:
            return skill, found.group(0).strip()
    return None


def decide_route(intent: str | None, confidence: float | None, unsure: bool, cue: tuple[str, str] | None) -> Route:
    """The routing rule, on its own so that it can be tested and read.

    The classifier's intent stands when it is sure (>= ``ROUTE_CONFIDENCE``, not out-of-scope);
    otherwise a keyword cue decides; otherwise the classifier's intent (or "not sure") stands.
    """
    said = f"intent classifier: {intent} ({confidence:.0%})" if intent is not None else \
        "no intent classifier (Day 3 missing)"
    out_of_scope = intent in (OUT_OF_SCOPE, OOS)
    if intent is not None and not unsure and confidence >= ROUTE_CONFIDENCE and not out_of_scope:
        agree = f" (keyword cue '{cue[1]}' agrees)" if cue and cue[0] == intent else ""
        return Route(intent, intent, confidence, cue and cue[1], f"{said} >= {ROUTE_CONFIDENCE:.0%}{agree}")
    if cue:
        if out_of_scope:
            why = f"{said}, but the keyword cue '{cue[1]}' names a skill: {cue[0]}"
        elif intent is not None:
            why = f"{said} < {ROUTE_CONFIDENCE:.0%}, so the keyword cue '{cue[1]}' decides: {cue[0]}"
        else:
            why = f"{said}; the keyword cue '{cue[1]}' decides: {cue[0]}"
        return Route(cue[0], intent, confidence, cue[1], why)
    if intent is None:
        return Route("unknown", None, None, None, f"{said}; no keyword cue matched")
    skill = "not_sure" if unsure else (OUT_OF_SCOPE if out_of_scope else intent)
    return Route(skill, intent, confidence, None, f"{said}; no keyword cue matched")


def route_message(message: str, classify=None) -> Route:
    """Route one message by ``decide_route``: the keyword cues, and the classifier when there is one.

    classify: a function from a list of str to a list of {"intent", "confidence", "unsure"} dicts, such as
        ``Assistant.classify``; None routes by the cues alone.
    """
    cue = keyword_cue(message)
    if classify is None:
        return decide_route(None, None, True, cue)
    c = classify([message])[0]
    return decide_route(c["intent"], c["confidence"], c["unsure"], cue)


# ----------------------------------------------------------------------------------- inference
@dataclass
class Reply:
    """One chat turn: the text, the intent recognised, its confidence, the passages used, and the route."""

    text: str
    intent: str
    confidence: float
    sources: list[dict] = field(default_factory=list)
    answer: dict | None = None
    route: Route | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _check_text(value, what: str, limit: int) -> str:
    """``value`` stripped, cut to ``limit`` characters and without lone surrogates; ValueError when it is
    not a str or shows nothing (empty, whitespace, zero-width or control characters only)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a str, got {type(value).__name__}; pass the text itself")
    text = without_lone_surrogates(value.strip()[:limit]).strip()
    if not shows_something(text):
        raise ValueError(f"{what} is empty or only whitespace, zero-width or control characters; pass some words")
    return text


@dataclass
class AssistantConfig:
    """What an ``Assistant`` needs besides its models and knowledge base (``config.json``'s ``assistant``).

    labels: the intent classifier's labels in id order. intent_threshold: below this max-softmax
    probability a message is "not sure". answer_threshold: below this span probability ``answer`` says
    there is no answer. max_length: tokens of a message read by the classifier. qa_max_length, stride:
    the QA windows and their overlap. top_k: passages retrieved per question.
    """

    labels: list[str]
    intent_threshold: float
    answer_threshold: float
    max_length: int
    qa_max_length: int
    stride: int
    top_k: int

    def __post_init__(self):
        from .artifacts import positive

        if not self.labels or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must list the intent classifier's labels once each, got {self.labels!r:.80}")
        for name in ("intent_threshold", "answer_threshold"):
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number and math.isfinite(value) and 0 <= value <= 1):
                raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")
        for name in ("max_length", "qa_max_length", "top_k"):
            positive(name, getattr(self, name))
        positive("stride", self.stride, allow_zero=True)
        if self.stride >= self.qa_max_length:
            raise ValueError(f"stride must be below qa_max_length, got {self.stride} and {self.qa_max_length}")


def _labels_of(model) -> list[str]:
    """The classifier's labels in id order, from its ``config.id2label``; ValueError if one is missing."""
    id2label, n = model.config.id2label, model.config.num_labels
    missing = [i for i in range(n) if i not in id2label]
    if missing:
        raise ValueError(f"the intent model's config.id2label lacks the ids {missing[:10]} of its {n} labels")
    return [id2label[i] for i in range(n)]


def _check_window(model, length: int, what: str) -> None:
    """ValueError when ``length`` tokens exceed what ``model`` has position embeddings for."""
    most = getattr(model.config, "max_position_embeddings", None)
    if isinstance(most, int) and length > most:
        raise ValueError(f"{what} is {length} tokens, but the model reads at most {most}")


class Assistant:
    """Intent classifier + retriever + extractive QA; ``Assistant.load(artifact_dir)`` to use one.

    intent_threshold: below this max-softmax probability a message is "not sure".
    answer_threshold: below this span probability ``answer`` says there is no answer.
    The other arguments are ``AssistantConfig``'s; bad values raise ValueError.
    """

    COMPONENT = COMPONENT

    def __init__(self, intent_model, intent_tokenizer, qa_model, qa_tokenizer, knowledge_base: list[dict],
                 intent_threshold: float = 0.5, answer_threshold: float = 0.1, max_length: int = 64,
                 qa_max_length: int = 384, stride: int = 128, top_k: int = 3, device=None):
        from .env import get_device

        cfg = AssistantConfig(_labels_of(intent_model), intent_threshold, answer_threshold, max_length,
                              qa_max_length, stride, top_k)
        _check_window(intent_model, cfg.max_length, "max_length")
        _check_window(qa_model, cfg.qa_max_length, "qa_max_length")
        question_budget(qa_tokenizer, cfg.qa_max_length, cfg.stride)  # a window with room for a question
        self.device = get_device() if device is None else torch.device(device)
        self.intent_model = intent_model.to(self.device).eval()
        self.intent_tokenizer = intent_tokenizer
        self.qa_model = qa_model.to(self.device).eval()
        self.qa_tokenizer = qa_tokenizer
        self.labels = cfg.labels
        self.knowledge_base = check_passages(knowledge_base)
        self.retriever = Retriever(self.knowledge_base)
        self.intent_threshold = float(cfg.intent_threshold)
        self.answer_threshold = float(cfg.answer_threshold)
        self.max_length, self.qa_max_length, self.stride, self.top_k = (cfg.max_length, cfg.qa_max_length, cfg.stride,
                                                                        cfg.top_k)

    @property
    def config(self) -> AssistantConfig:
        """The assistant's current settings (thresholds may have been changed since it was built)."""
        return AssistantConfig(list(self.labels), self.intent_threshold, self.answer_threshold, self.max_length,
                               self.qa_max_length, self.stride, self.top_k)

    # -- classification
    @torch.no_grad()
    def classify(self, texts, batch_size: int = 64) -> list[dict]:
        """For each text: {"intent", "confidence", "probabilities" (label -> p)}; the intent is
        ``out_of_scope`` (or the model's own out-of-scope label) when the confidence is below the threshold."""
        if isinstance(texts, str):
            raise ValueError("classify takes a list of str; for one message use [message] or reply(message)")
        texts = list(texts) if not isinstance(texts, (bytes, dict)) and hasattr(texts, "__iter__") else None
        if texts is None:
            raise ValueError("classify takes a list of str")
        if not texts:
            return []
        clean = [_check_text(t, f"text {i}", MAX_MESSAGE_CHARS) for i, t in enumerate(texts)]
        probs = []
        for lo in range(0, len(clean), batch_size):
            enc = encode_texts(self.intent_tokenizer, clean[lo:lo + batch_size], self.max_length)
            logits = self.intent_model(**{k: v.to(self.device) for k, v in enc.items()}).logits
            probs.append(torch.softmax(logits.float(), -1).cpu().numpy())
        probs = np.concatenate(probs)
        reject = self.labels.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self.labels else (
            self.labels.index(OOS) if OOS in self.labels else -1)
        out = []
        for p in probs:
            i = int(p.argmax())
            unsure = p[i] < self.intent_threshold
            intent = (self.labels[reject] if reject >= 0 else "not_sure") if unsure else self.labels[i]
            out.append({"intent": intent, "confidence": float(p[i]), "unsure": bool(unsure),
                        "probabilities": {lab: float(v) for lab, v in zip(self.labels, p)}})
        return out

    # -- question answering
    def answer(self, question, context=None) -> dict:
        """Answer ``question`` from ``context`` (a str) or, without one, from the best passages of the
        knowledge base. Returns {"answer" (None below the answer threshold), "score" and "confidence" (the span
        probability), "passage" (the text the span comes from; None when no passage shares a word with the
        question), "source" (its title, the span's characters, its retrieval score), "sources" (every passage
        read)}."""
        question = _check_text(question, "question", MAX_MESSAGE_CHARS)
        if context is not None:
            context = _check_text(context, "context", MAX_CONTEXT_CHARS)
            candidates = [({"title": "given context", "text": context}, 1.0)]
        else:
            candidates = [(self.knowledge_base[i], s) for i, s in self.retriever.search(question, self.top_k)]
        spans = extract_answers(self.qa_model, self.qa_tokenizer, [question] * len(candidates),
                                [p["text"] for p, _ in candidates], self.qa_max_length, self.stride)
        combined = passage_scores([r for _, r in candidates], [sp["score"] for sp in spans])
        best = int(np.argmax(combined))
        span, (passage, retrieval) = spans[best], candidates[best]
        sources = [{"title": p.get("title", ""), "retrieval_score": round(s, 4), "span_score": round(sp["score"], 4),
                    "combined_score": round(float(c), 4)} for (p, s), sp, c in zip(candidates, spans, combined)]
        found = retrieval > 0 and span["score"] >= self.answer_threshold and span["text"].strip() != ""
        return {"answer": span["text"] if found else None, "score": span["score"], "confidence": span["score"],
                "passage": passage["text"] if retrieval > 0 else None,
                "source": {"title": passage.get("title", ""), "start": span["start"], "end": span["end"],
                           "retrieval_score": retrieval}, "sources": sources}

    # -- chat
    def reply(self, message, history=None) -> Reply:
        """One chat turn, routed by ``route_message`` (the classifier, then the keyword cues): answer questions
        from the knowledge base (the span, its passage's title and its confidence; below the answer threshold,
        "not sure" and the closest passage instead of a guess), name the component for the other skills, say
        "not sure" when unsure.
        ``history`` (messages) is accepted for chat UIs."""
        if history is not None and not isinstance(history, (list, tuple)):
            raise ValueError("history must be a list of messages ({'role', 'content'}) or None")
        message = _check_text(message, "message", MAX_MESSAGE_CHARS)
        route = route_message(message, self.classify)
        if route.skill == "question":
            a = self.answer(message)
            if a["answer"] is not None:  # the span; its passage and confidence travel in Reply.answer
                text = a["answer"]
            elif a.get("passage"):  # a span too weak to state: show where the answer should be, not a guess
                text = f"{NOT_SURE_ANSWER} The closest passage I found, \"{a['source']['title']}\": {a['passage']}"
            else:
                text = NO_ANSWER
            return Reply(text, route.intent, route.confidence, sources=a["sources"], answer=a, route=route)
        text = NOT_SURE if route.skill == "not_sure" else SKILL_REPLIES.get(route.skill,
                                                                              f"(recognised intent: {route.skill})")
        return Reply(text, route.intent, route.confidence, route=route)

    # -- persistence
    def save(self, directory, metrics: dict | None = None, **config) -> Path:
        """Write the assistant as an artifact folder (atomically): the intent classifier and the QA model, each
        with its tokenizer, in ``intent/`` and ``qa/`` (``save_pretrained``, safetensors), the knowledge base,
        and ``AssistantConfig`` as ``config.json``'s ``assistant`` field.

        config: more JSON-able fields for ``config.json`` (the profile, the models' names, the data).
        """
        from .artifacts import as_dict, save_artifact

        taken = sorted({"assistant", "models"} & set(config))
        if taken:
            raise ValueError(f"config may not set {', '.join(taken)}: save writes those itself")
        models = {INTENT_DIR: type(self.intent_model).__name__, QA_DIR: type(self.qa_model).__name__}
        return save_artifact(directory, component=COMPONENT, metrics=metrics,
                             config={"assistant": as_dict(self.config), "models": models, **config},
                             pretrained={INTENT_DIR: [self.intent_model, self.intent_tokenizer],
                                         QA_DIR: [self.qa_model, self.qa_tokenizer]},
                             files={KB_FILE: self.knowledge_base})

    @classmethod
    def load(cls, directory, device=None) -> Assistant:
        """Load a saved assistant (safetensors weights, JSON state; nothing unpickled). Any fault in the folder
        (a missing or mistyped field, a damaged knowledge base, a pickle-based weights file) is an
        ``ArtifactError`` naming the file and the field."""
        from .artifacts import load_component

        return load_component(directory, COMPONENT, lambda art: cls._from_artifact(art, device))

    @classmethod
    def _from_artifact(cls, art, device) -> Assistant:
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        from .artifacts import CONFIG_FILE, ArtifactError, reading

        cfg = art.section("assistant", AssistantConfig)
        knowledge_base = art.read_json(KB_FILE, list)
        try:
            knowledge_base = check_passages(knowledge_base)
        except ValueError as e:
            raise ArtifactError(f"{art.file(KB_FILE)}: {e}") from None
        intent_dir = art.pretrained_path(INTENT_DIR)  # refuses pickle-based files
        with reading(intent_dir, f"the {INTENT_DIR}/ folder"):
            intent_model = load_intent_model(intent_dir)
            labels = _labels_of(intent_model)
        if labels != cfg.labels:
            raise ArtifactError(f"{art.path / CONFIG_FILE}: the field 'assistant.labels' {cfg.labels!r:.80} does not "
                                f"match the labels of {intent_dir / CONFIG_FILE} {labels!r:.80}")
        models = (intent_model, art.from_pretrained(AutoTokenizer, INTENT_DIR),
                  art.from_pretrained(AutoModelForQuestionAnswering, QA_DIR),
                  art.from_pretrained(AutoTokenizer, QA_DIR))
        try:  # the settings are sound alone (the section's checks) but may not fit these models
            return cls(*models, knowledge_base, intent_threshold=cfg.intent_threshold,
                       answer_threshold=cfg.answer_threshold, max_length=cfg.max_length,
                       qa_max_length=cfg.qa_max_length, stride=cfg.stride, top_k=cfg.top_k, device=device)
        except ValueError as e:
            raise ArtifactError(f"{art.path / CONFIG_FILE}: the field 'assistant' does not fit the saved models "
                                f"({e})") from None


def format_reply(reply: Reply) -> str:
    """The chat text: the reply, then the intent and confidence, the route when a keyword cue overrode the
    intent, and the sources for answers."""
    text = f"{reply.text}\n\n_intent: {reply.intent} ({reply.confidence:.0%})_"
    if reply.route is not None and reply.route.cue is not None and reply.route.skill != reply.intent:
        text += f"\n_route: {reply.route.skill}: {reply.route.reason}_"
    if reply.sources:
        text += "\n_sources: " + ", ".join(s["title"] for s in reply.sources) + "_"
    return text


def chat_demo(assistant: Assistant):
    """A Gradio ``ChatInterface`` (messages format) over ``assistant``; ``.launch()`` it."""
    import gradio as gr

    def respond(message, history):
        try:
            return format_reply(assistant.reply(message, history))
        except ValueError as e:
            return f"Sorry: {e}"
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as e:  # noqa: BLE001  (a tokenizer panic too: every message gets an answer)
            import logging

            logging.getLogger(__name__).error("chat request failed", exc_info=e)
            return f"Sorry: the request failed ({type(e).__name__}); the error was logged."

    return gr.ChatInterface(respond, title="applied-mlx assistant", api_name="chat",
                            description="Intent classification with out-of-scope rejection, and extractive "
                                        "QA over a small knowledge base.",
                            examples=["hello", "what data does day four use", "recommend me a movie",
                                      "book a flight to paris"])


if __name__ == "__main__":  # python -m applied_mlx.assistant [artifact_dir]
    import sys

    from .artifacts import artifact_dir

    chat_demo(Assistant.load(sys.argv[1] if len(sys.argv) > 1 else artifact_dir("Day3_Chatbot"))).launch()


# ----------------------------------------------------------------------------------- evaluation sets
DATA_DIR = Path(__file__).resolve().parents[1] / "Day3_Chatbot" / "data"  # the held-out sets, in the repository


def _data_file(path, name: str) -> Path:
    path = Path(path) if path is not None else DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the Day 3 evaluation sets live in Day3_Chatbot/data/ of the "
                                "repository; pass the file's path")
    return path


def load_routing_set(path=None) -> list[tuple[str, str]]:
    """The held-out routing set (``Day3_Chatbot/data/routing_set.csv``) as (message, skill) pairs."""
    import csv

    with open(_data_file(path, "routing_set.csv"), encoding="utf-8", newline="") as f:
        return [(row["text"], row["skill"]) for row in csv.DictReader(f)]


def load_qa_set(path=None) -> list[dict]:
    """The held-out question set (``Day3_Chatbot/data/qa_set.jsonl``): {"id", "question", "answers",
    "title", "answer_start"} per question, the answers occurring in the passage with that title."""
    lines = _data_file(path, "qa_set.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def evaluate_routing(assistant, rows) -> dict:
    """Route each (message, skill) pair as the chat does (``route_message`` with ``assistant.classify``).

    Returns {"accuracy", "per_skill" (recall per true skill), "confusion" (a DataFrame, true skill x routed
    skill), "errors" (a DataFrame of the misrouted messages)}; "not_sure" counts as wrong.
    """
    import pandas as pd

    rows = list(rows)
    texts = [t for t, _ in rows]
    said = assistant.classify(texts)
    routes = [decide_route(c["intent"], c["confidence"], c["unsure"], keyword_cue(t)) for t, c in zip(texts, said)]
    frame = pd.DataFrame({"message": texts, "skill": [y for _, y in rows], "routed": [r.skill for r in routes],
                          "intent": [c["intent"] for c in said],
                          "confidence": [round(c["confidence"], 3) for c in said],
                          "reason": [r.reason for r in routes]})
    right = frame["skill"] == frame["routed"]
    confusion = pd.crosstab(frame["skill"], frame["routed"])
    return {"accuracy": float(right.mean()), "per_skill": right.groupby(frame["skill"]).mean().round(3).to_dict(),
            "confusion": confusion, "errors": frame[~right].reset_index(drop=True)}


def evaluate_qa(assistant, rows) -> dict:
    """Ask each question of ``rows`` (``load_qa_set``'s dicts) through ``Assistant.reply``, end to end.

    Returns {"qa_route_rate" (share routed to QA), "answered_rate" (share given a span, not "not sure"),
    "em", "f1" (SQuAD's, in percent, over all questions: a question routed elsewhere or not answered scores 0),
    "answered_f1" (F1 over the answered ones), "recall_at_1", "recall_at_3" (the gold passage among the
    retriever's first 1 / 3), "table" (a DataFrame per question)}.
    """
    import pandas as pd

    out = []
    for r in rows:
        reply = assistant.reply(r["question"])
        routed = reply.route is not None and reply.route.skill == "question"
        said = reply.answer["answer"] if routed and reply.answer and reply.answer["answer"] is not None else None
        top = [assistant.knowledge_base[i].get("title", "") for i, _ in assistant.retriever.search(r["question"], 3)]
        scores = squad_em_f1([said or ""], [r["answers"]])
        out.append({"question": r["question"], "gold": r["answers"][0], "said": said, "title": r["title"],
                    "routed": reply.route.skill if reply.route else None, "qa": routed, "answered": said is not None,
                    "em": scores["exact_match"], "f1": scores["f1"], "at_1": top[:1] == [r["title"]],
                    "at_3": r["title"] in top, "confidence": reply.answer["score"] if reply.answer else None})
    table = pd.DataFrame(out)
    answered = table[table["answered"]]
    return {"qa_route_rate": float(table["qa"].mean()), "answered_rate": float(table["answered"].mean()),
            "em": float(table["em"].mean()), "f1": float(table["f1"].mean()),
            "answered_f1": float(answered["f1"].mean()) if len(answered) else float("nan"),
            "recall_at_1": float(table["at_1"].mean()), "recall_at_3": float(table["at_3"].mean()), "table": table}


def qa_validation_rows(passages=None) -> list[dict]:
    """Questions generated from the passages themselves, with their gold spans: the validation split that the
    answer threshold is chosen on (never the held-out ``load_qa_set``: a question of it is left out). Per
    passage, where its text allows: "what exactly is <title>" (the words after "<title> is", to the first comma
    or full stop), "in which year was <title> introduced" (its one year) and "who is behind <title>" (the
    "<Name> and colleagues" or "by <Name>" words)."""
    rows, held = [], held_out_texts()
    for p in passages or KNOWLEDGE_BASE:
        title, text = p.get("title", ""), p["text"]
        found = re.match(re.escape(title) + r"(?:,[^,]*,)? is (an? [^.,;]+)", text)
        if found:
            rows.append((f"what exactly is {title.lower()}", found.group(1)))
        years = re.findall(r"\b(?:19|20)\d\d\b", text)
        if len(set(years)) == 1:
            rows.append((f"in which year was {title.lower()} introduced", years[0]))
        who = re.search(r"\b([A-Z]\w+ and (?:colleagues|[A-Z]\w+))\b", text) or \
            re.search(r"\bby ([A-Z][\w-]+(?: [A-Z][\w-]+)*)", text)
        if who:
            rows.append((f"who is behind {title.lower()}", who.group(1)))
        rows = [r if isinstance(r, dict) else {"question": r[0], "answers": [r[1]], "title": title} for r in rows]
    return [r for r in rows if r["question"] not in held]


def choose_answer_threshold(scores, f1s, grid=None) -> float:
    """The span probability above which the chat states an answer: the one that maximises the summed
    (F1 - 50) of the answers it states on a validation set (an answer counts for it when it is more right than
    wrong, against it otherwise; "not sure" counts 0). Ties go to the lowest threshold."""
    scores, f1s = np.asarray(scores, float), np.asarray(f1s, float)
    grid = np.round(np.arange(0.0, 1.0, 0.01), 2) if grid is None else grid
    gains = [float(((f1s - 50) * (scores >= t)).sum()) for t in grid]
    return float(grid[int(np.argmax(gains))])


@torch.no_grad()
def sentence_embeddings(model, tokenizer, texts, max_length: int = 32, batch_size: int = 64) -> np.ndarray:
    """The mean of ``model.backbone``'s token vectors over the real tokens, per text: what a
    ``MeanPoolingClassifier``'s head reads (dropout aside)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for lo in range(0, len(texts), batch_size):
        enc = {k: v.to(device) for k, v in encode_texts(tokenizer, texts[lo:lo + batch_size], max_length).items()}
        hidden = model.backbone(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.hidden_size))


def fit_skill_head(model, tokenizer, train_pairs, max_length: int = 32, c: float = 10.0):
    """Fit only the head of a ``MeanPoolingClassifier`` (the encoder frozen): a multinomial logistic
    regression on ``sentence_embeddings`` of the (text, label) pairs, copied into ``model.classifier``, so that
    the model's softmax is the regression's. Seconds on a CPU where fine-tuning the encoder takes minutes; the
    sentence encoder already places paraphrases together. Returns ``model``.

    c: the inverse L2 strength of the regression.
    """
    from sklearn.linear_model import LogisticRegression

    to_id = model.config.label2id
    x = sentence_embeddings(model, tokenizer, [t for t, _ in train_pairs], max_length)
    y = np.array([to_id[label] for _, label in train_pairs])
    if len(set(y)) != model.config.num_labels:
        raise ValueError(f"fit_skill_head needs examples of all {model.config.num_labels} labels, got {len(set(y))}")
    clf = LogisticRegression(C=c, max_iter=3000).fit(x, y)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.as_tensor(clf.coef_, dtype=model.classifier.weight.dtype))
        model.classifier.bias.copy_(torch.as_tensor(clf.intercept_, dtype=model.classifier.bias.dtype))
    return model


def train_skill_classifier(source, tokenizer, skills: dict, max_length: int, seed: int = 0, device=None):
    """The chat's skill classifier: ``fit_skill_head`` on ``skills["train"]`` (``skill_splits``' output) over the
    encoder at ``source``, and its out-of-scope threshold chosen on ``skills["val"]``.

    Returns (model, threshold, the validation scores at that threshold).
    """
    from .training import predict

    model = fit_skill_head(new_intent_classifier(source, SKILLS, pooling="mean", seed=seed), tokenizer,
                           skills["train"], max_length)
    to_id = model.config.label2id
    loader = intent_loader(tokenizer, skills["val"], to_id, max_length, 128)
    probs = torch.softmax(predict(model, loader, device=device), -1).numpy()
    threshold, scores = choose_threshold(probs, [to_id[y] for _, y in skills["val"]], to_id[OUT_OF_SCOPE])
    return model, threshold, scores


def tune_answer_threshold(assistant, rows=None) -> float:
    """Choose, set and return ``assistant.answer_threshold`` on ``rows`` (default ``qa_validation_rows()``,
    questions generated from the passages: never the held-out ``load_qa_set``)."""
    rows = qa_validation_rows() if rows is None else rows
    said = [assistant.answer(r["question"]) for r in rows]
    f1s = [squad_em_f1([s["answer"] or ""], [r["answers"]])["f1"] for s, r in zip(said, rows)]
    assistant.answer_threshold = choose_answer_threshold([s["score"] for s in said], f1s)
    return assistant.answer_threshold
