"""Day 5: sentiment classification with a fine-tuned transformer encoder, calibrated and quantizable.

The general text-classification pieces (any labels, any ``AutoModelForSequenceClassification``)
are reusable by other days:

- ``train_one_epoch`` / ``loader_accuracy``: the plain fine-tuning loop the lesson writes out
  (``training.fit`` takes over for the remaining epochs);
- ``TextClassificationDataset`` (tokenized once, no padding) + ``DynamicPaddingCollator`` (pads each
  batch only to its longest member) + ``LengthBucketSampler`` (training batches of similar lengths);
- ``length_bucketed_batches`` and ``predict_logits``: batched inference in length order, results
  returned in the caller's order;
- ``fit_temperature`` / ``softmax_with_temperature``: temperature scaling (Guo et al., 2017);
- ``quantize_int8``: int8 ``nn.Linear`` layers for CPU inference (``Int8Linear``: activations quantized
  per token, so results do not depend on the batch; or ``quantize_dynamic``'s per-batch scale);
- ``TextClassifier``: the inference class (``load``, ``predict``), of which ``SentimentClassifier``
  is the SST-2 flavour.

SST-2 itself: ``load_sst2`` (through ``applied_mlx.data.fetch``); ``make_smoke_sentiment_data`` and
``build_tiny_text_model`` give the smoke profile its generated data and tiny random model;
``settings(profile)`` holds each profile's sizes, model and optimiser settings.
"""

from __future__ import annotations

import copy
import csv
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .data import resolve_model
from .text import shows_something, without_lone_surrogates
from .training import LengthBucketSampler, linear_warmup_scheduler  # noqa: F401  (re-exported for the lesson)

COMPONENT = "sentiment"
LABEL_NAMES = ("negative", "positive")
DEFAULT_MODEL = "distilbert-base-uncased"
STANDIN_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SMOKE_MODEL = "tiny-random-distilbert"  # built locally by build_tiny_text_model: no download
# Keys every encoder we use accepts; BERT's token_type_ids default to zeros, DistilBERT has none.
MODEL_INPUTS = ("input_ids", "attention_mask")

_COMMON = dict(warmup_ratio=0.1, weight_decay=0.01)
SETTINGS = {
    # n_train: training sentences (None = all); n_val: held out from train for model selection and calibration;
    # throughput_seconds: per cell of the speed table. On a CPU, updating the 30k-row word-embedding table
    # dominates each step, so the quick profile keeps it frozen.
    "smoke": dict(n_train=256, n_val=64, num_epochs=6, batch_size=16, lr=3e-3, max_length=64, model_name=SMOKE_MODEL,
                  freeze_word_embeddings=False, throughput_seconds=0.5, **_COMMON),
    "quick": dict(n_train=20_000, n_val=2000, num_epochs=2, batch_size=32, lr=1e-4, max_length=128,
                  model_name=STANDIN_MODEL, freeze_word_embeddings=True, throughput_seconds=5.0, **_COMMON),
    "full": dict(n_train=None, n_val=2000, num_epochs=3, batch_size=32, lr=1e-5, max_length=128,
                 model_name=DEFAULT_MODEL, freeze_word_embeddings=False, throughput_seconds=5.0, **_COMMON),
}


def settings(profile: str) -> dict:
    """A copy of the Day 5 settings for ``profile`` (smoke, quick or full): sizes, model and optimiser."""
    if profile not in SETTINGS:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(SETTINGS)}")
    return dict(SETTINGS[profile])


# Data --------------------------------------------------------------------------------------

def load_sst2(root=None):
    """SST-2 (GLUE) as two DataFrames ``(train, dev)`` with columns ``sentence`` and ``label`` (0/1).

    root: a folder holding ``train.tsv`` and ``dev.tsv`` in SST-2's format (``sentence<TAB>label``, a
    header line) to use your own data; default SST-2 itself, through ``applied_mlx.data.fetch("sst2")``
    (mirror, cache or download).
    """
    import pandas as pd

    from .data import fetch

    root = fetch("sst2") if root is None else Path(root)
    missing = [name for name in ("train.tsv", "dev.tsv") if not (root / name).is_file()]
    if missing:
        raise ValueError(f"{root} has no {' or '.join(missing)}: a data folder needs train.tsv and dev.tsv "
                         "(sentence<TAB>label, with a header line)")
    frames = []
    for name in ("train.tsv", "dev.tsv"):
        # QUOTE_NONE: the sentences contain bare quote characters; keep_default_na: "null" is a word.
        frame = pd.read_csv(root / name, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False,
                            dtype={"sentence": str, "label": int})
        frames.append(frame[["sentence", "label"]])
    return frames[0], frames[1]


_SMOKE_SUBJECTS = ["the movie", "this film", "the acting", "the plot", "the soundtrack", "the ending",
                   "the director 's work", "the script"]
_SMOKE_POSITIVE = ["wonderful", "brilliant", "moving", "funny", "beautiful", "gripping", "superb", "charming"]
_SMOKE_NEGATIVE = ["dull", "awful", "boring", "clumsy", "tedious", "painful", "lifeless", "predictable"]
_SMOKE_ADVERBS = ["", "really ", "truly ", "rather ", "quite "]


def make_smoke_sentiment_data(n_train: int = 256, n_dev: int = 96, seed: int = 0):
    """A small generated labelled set ``(train, dev)`` in SST-2's shape, for the smoke profile.

    Sentences like "the plot was really dull ." (label 0) or "... brilliant and moving ." (1);
    a tenth of them negate the adjective ("not funny"), flipping the label, so that a bag of words
    is not quite enough.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)

    def sentence():
        label = int(rng.integers(2))
        words = _SMOKE_POSITIVE if label else _SMOKE_NEGATIVE
        adjective = rng.choice(words)
        if rng.random() < 0.3:
            adjective = f"{adjective} and {rng.choice(words)}"
        negate = rng.random() < 0.1
        text = f"{rng.choice(_SMOKE_SUBJECTS)} was {'not ' if negate else rng.choice(_SMOKE_ADVERBS)}{adjective} ."
        return text, label ^ int(negate)

    rows = [sentence() for _ in range(n_train + n_dev)]
    frame = pd.DataFrame(rows, columns=["sentence", "label"])
    return frame.iloc[:n_train].reset_index(drop=True), frame.iloc[n_train:].reset_index(drop=True)


def smoke_vocabulary() -> list[str]:
    """Every word the smoke sentences use (for the tiny model's WordPiece vocabulary)."""
    words = {"was", "not", "and", "."}
    for phrase in _SMOKE_SUBJECTS + _SMOKE_POSITIVE + _SMOKE_NEGATIVE + _SMOKE_ADVERBS:
        words.update(phrase.split())
    return sorted(words)


# Models ------------------------------------------------------------------------------------

def build_tiny_text_model(directory, words: Sequence[str], label_names: Sequence[str] = LABEL_NAMES,
                          seed: int = 0) -> str:
    """Save a tiny randomly initialised DistilBERT classifier and its tokenizer in ``directory``.

    The smoke profile loads it back with ``load_text_classifier(directory)``, i.e. through the same
    ``from_pretrained`` code that loads real weights. words: the vocabulary besides the special
    tokens (lower case; unknown words become [UNK]). Returns the folder as a string.
    """
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(words) - {"[PAD]", "[UNK]"})
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = DistilBertConfig(vocab_size=len(vocab), dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                              max_position_embeddings=128, pad_token_id=0, **_label_maps(label_names))
    torch.manual_seed(seed)
    DistilBertForSequenceClassification(config).save_pretrained(directory)
    # The tokenizer is read from vocab.txt the way from_pretrained reads a hub folder; the input
    # names keep transformers 4.x from passing token_type_ids, which DistilBERT does not take.
    tokenizer = AutoTokenizer.from_pretrained(directory, model_input_names=list(MODEL_INPUTS))
    tokenizer.save_pretrained(directory)
    return str(directory)


def _label_maps(label_names: Sequence[str]) -> dict:
    names = list(label_names)
    return {"num_labels": len(names), "id2label": dict(enumerate(names)),
            "label2id": {name: i for i, name in enumerate(names)}}


def load_text_classifier(name_or_path, label_names: Sequence[str] = LABEL_NAMES):
    """``(model, tokenizer)``: a pretrained encoder with a classification head for ``label_names``.

    name_or_path: a local folder, a name found in ``$APPLIED_MLX_MIRROR/models/``, or a hub id
    (see ``applied_mlx.data.resolve_model``). A checkpoint without a matching head gets a new,
    randomly initialised one (transformers says which weights were new).
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = resolve_model(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(source, **_label_maps(label_names))
    return model, tokenizer


def freeze_word_embeddings(model) -> int:
    """Stop training the input word-embedding table (``get_input_embeddings``); return its size.

    For a small encoder the table is a large share of the weights (all-MiniLM-L6-v2: 11.7M of 22.7M),
    and on a CPU AdamW's dense update of it dominates each step; frozen, the pretrained word vectors
    stay as they are, which with little data is also a mild regulariser. Build the optimizer after
    calling this, over the parameters that still require grad.
    """
    weight = model.get_input_embeddings().weight
    weight.requires_grad_(False)
    return weight.numel()


def count_parameters(model: nn.Module, trainable: bool = False) -> int:
    """Number of parameters (only those that require grad, if ``trainable``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


# Tokenizing, padding, bucketing ------------------------------------------------------------

class TextClassificationDataset(Dataset):
    """Texts tokenized once (truncated to ``max_length``, not padded), with optional integer labels.

    Items are dicts of ``input_ids``, ``attention_mask`` (lists) and ``labels`` (when given);
    ``lengths`` holds each item's token count, for length bucketing.
    """

    def __init__(self, texts: Sequence[str], labels: Sequence[int] | None, tokenizer, max_length: int = 128):
        texts = list(texts)
        if labels is not None and len(labels) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        encoded = tokenizer(texts, truncation=True, max_length=max_length)
        self.input_ids = encoded["input_ids"]
        self.labels = None if labels is None else [int(y) for y in labels]
        self.lengths = np.array([len(ids) for ids in self.input_ids])

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.input_ids[i], "attention_mask": [1] * len(self.input_ids[i])}
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item


@dataclass
class DynamicPaddingCollator:
    """Pad a list of tokenized items to the longest one in the batch (not to a global max length).

    Returns a dict of tensors: ``input_ids`` (padded with ``pad_token_id``), ``attention_mask``
    (0 on padding) and ``labels`` when the items carry them: the dict batch ``training.fit`` takes.
    """

    pad_token_id: int = 0

    def __call__(self, items: Sequence[dict]) -> dict:
        width = max(len(item["input_ids"]) for item in items)
        ids = torch.full((len(items), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for row, item in enumerate(items):
            n = len(item["input_ids"])
            ids[row, :n] = torch.as_tensor(item["input_ids"], dtype=torch.long)
            mask[row, :n] = 1
        batch = {"input_ids": ids, "attention_mask": mask}
        if "labels" in items[0]:
            batch["labels"] = torch.tensor([item["labels"] for item in items], dtype=torch.long)
        return batch


def length_bucketed_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index batches in order of length (longest first), so each batch pads little.

    Every index appears exactly once; the last batch may be smaller (nothing is dropped).
    The sort is stable, so equal lengths keep their input order.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def text_loader(texts: Sequence[str], labels: Sequence[int] | None, tokenizer, *, max_length: int = 128,
                batch_size: int = 32, shuffle: bool = False, seed: int = 0) -> DataLoader:
    """A ``DataLoader`` of dynamically padded dict batches.

    shuffle: True for training (``LengthBucketSampler``); False for evaluation (batches in order of
    length; every item once; metrics over the whole loader do not depend on the order, but use
    ``predict_logits`` when the outputs must line up with ``texts``).
    """
    dataset = TextClassificationDataset(texts, labels, tokenizer, max_length)
    if shuffle:
        sampler = LengthBucketSampler(dataset.lengths, batch_size, seed=seed)
    else:
        sampler = [b.tolist() for b in length_bucketed_batches(dataset.lengths, batch_size)]
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=DynamicPaddingCollator(_pad_id(tokenizer)))


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


@torch.no_grad()
def predict_logits(model: nn.Module, tokenizer, texts: Sequence[str], *, max_length: int = 128,
                   batch_size: int = 32, device=None) -> np.ndarray:
    """Logits ``(len(texts), n_labels)`` in the order of ``texts``; batched by length, truncated.

    device: default the device the model is on.
    """
    device = next(model.parameters()).device if device is None else torch.device(device)
    dataset = TextClassificationDataset(texts, None, tokenizer, max_length)
    collate = DynamicPaddingCollator(_pad_id(tokenizer))
    model.eval()
    out = None
    for batch_ids in length_bucketed_batches(dataset.lengths, batch_size):
        batch = collate([dataset[i] for i in batch_ids])
        logits = model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu().numpy()
        if out is None:
            out = np.empty((len(dataset), logits.shape[1]), dtype=np.float32)
        out[batch_ids] = logits
    return out if out is not None else np.empty((0, 0), dtype=np.float32)


# Training ----------------------------------------------------------------------------------

def train_one_epoch(model, train_loader, optimizer, scheduler=None, grad_clip: float | None = 1.0) -> list[float]:
    """One pass of fine-tuning over ``train_loader``'s dict batches; returns every batch's loss.

    scheduler: stepped after every batch (warm-up, then decay); grad_clip: the largest gradient norm.
    """
    device = next(model.parameters()).device
    model.train()
    losses = []
    for batch in train_loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss = nn.functional.cross_entropy(logits, batch["labels"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def loader_accuracy(model, loader) -> float:
    """Share of a labelled loader's items whose largest logit is their label."""
    device = next(model.parameters()).device
    model.eval()
    correct = total = 0
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        correct += int((logits.argmax(dim=-1) == batch["labels"]).sum())
        total += len(batch["labels"])
    return correct / max(total, 1)


# Baseline ----------------------------------------------------------------------------------

def tfidf_baseline(train_texts: Sequence[str], train_labels: Sequence[int], C: float = 4.0):
    """A fitted scikit-learn pipeline: TF-IDF of words and word pairs, then logistic regression.

    The honest classical baseline; ``predict_proba`` gives probabilities for the same metrics.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
                             LogisticRegression(C=C, max_iter=2000))
    return pipeline.fit(list(train_texts), list(train_labels))


# Calibration -------------------------------------------------------------------------------

def softmax_with_temperature(logits, temperature: float = 1.0) -> np.ndarray:
    """Softmax of ``logits / temperature`` (float64); T > 1 softens, T < 1 sharpens."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)  # the same probabilities, and exp() cannot overflow
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def nll_at_temperature(logits, labels, temperature: float) -> float:
    """Mean negative log-likelihood of ``labels`` under ``softmax(logits / temperature)``."""
    z = torch.tensor(np.asarray(logits), dtype=torch.float64) / temperature
    return float(nn.functional.cross_entropy(z, torch.tensor(np.asarray(labels), dtype=torch.long)))


def fit_temperature(logits, labels, max_iter: int = 200) -> float:
    """The temperature T > 0 that minimises the NLL of ``labels`` under ``softmax(logits / T)``.

    Temperature scaling (Guo et al., 2017): one parameter, fitted on held-out data (never the test
    set); it changes confidence, never the predicted class. Optimised over log T, so T stays positive.
    """
    z = torch.tensor(np.asarray(logits), dtype=torch.float64)  # a copy: inputs may be read-only arrays
    y = torch.tensor(np.asarray(labels), dtype=torch.long)
    if z.ndim != 2 or len(z) != len(y) or len(y) == 0:
        raise ValueError("logits must be (n, n_classes) and labels (n,), with n > 0")
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.exp().item())


def calibration_summary(labels, logits, temperature: float = 1.0, n_bins: int = 15) -> dict[str, float]:
    """ECE, NLL and Brier score of ``softmax(logits / temperature)`` against ``labels``."""
    from .metrics import expected_calibration_error

    prob = softmax_with_temperature(logits, temperature)
    y = np.asarray(labels)
    onehot = np.eye(prob.shape[1])[y]
    return {"ece": expected_calibration_error(y, prob, n_bins),
            "nll": nll_at_temperature(logits, y, temperature),
            "brier": float(np.mean(np.sum((prob - onehot) ** 2, axis=1)))}


# Quantization ------------------------------------------------------------------------------

class Int8Linear(nn.Module):
    """``nn.Linear`` with int8 weights and int8 activations quantized per token, for CPU inference.

    The weights are rounded to int8 once, one scale per output row. At every call each row of the input
    (one token) is scaled by its own largest absolute value and rounded to int8. ``torch._int_mm``
    multiplies the two int8 matrices with int32 accumulation, and the result is scaled back. Because every
    token carries its own scale, a sentence's result does not depend on the sentences batched with it.
    ``quantize_dynamic`` scales a whole batch by one number, so its results do.
    """

    def __init__(self, linear: nn.Linear):
        super().__init__()
        w = linear.weight.detach().float().cpu()
        scale = w.abs().amax(dim=1).clamp_min(1e-12) / 127
        self.in_features, self.out_features = linear.in_features, linear.out_features
        # stored transposed, (in, out): the layout torch._int_mm takes as its second operand
        self.register_buffer("weight_t", torch.round(w / scale[:, None]).to(torch.int8).t().contiguous())
        self.register_buffer("weight_scale", scale / 127)  # folds in the 1/127 of the activations' scale
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float().cpu().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features).float()
        amax = rows.abs().amax(dim=1, keepdim=True).clamp_min_(1e-12)  # one scale per token
        q = torch.round(rows * (127.0 / amax)).to(torch.int8)
        out = torch._int_mm(q, self.weight_t).float().mul_(amax).mul_(self.weight_scale)
        if self.bias is not None:
            out.add_(self.bias)
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per-token"


INT8_ACTIVATIONS = ("per_token", "per_tensor")


def quantize_int8(model: nn.Module, per_channel: bool = True, activations: str = "per_token") -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` computing in int8 (CPU inference).

    activations: ``"per_token"`` (default) swaps in ``Int8Linear``: one scale per token, results
        independent of the batch, close to fp32 (on the Day 5 model 99.7% of dev labels unchanged). It is
        slower at batch 1 (x1.6 over fp32 against x2.2, one thread; benchmarks/bench_day5.py) than
        ``"per_tensor"``: ``torch.ao.quantization.quantize_dynamic``, one
        scale per batch, fbgemm's kernels, where a sentence's label can change with its batch-mates (97-98%
        unchanged). PyTorch marks that API deprecated in favour of torchao; its warnings are silenced here.
    per_channel: for ``"per_tensor"``, one weight scale per output row rather than one per matrix
        (``"per_token"`` always uses one per row).
    """
    if activations not in INT8_ACTIVATIONS:
        raise ValueError(f"activations must be one of {INT8_ACTIVATIONS}, got {activations!r}")
    model = copy.deepcopy(model).to("cpu").eval()
    if activations == "per_token":
        if not hasattr(torch, "_int_mm"):
            raise RuntimeError("this PyTorch has no torch._int_mm for int8 matrix products; "
                               "use activations='per_tensor' or run without quantization")
        for parent in list(model.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.Linear):
                    setattr(parent, name, Int8Linear(child))
        return model
    try:
        from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic
    except ImportError as e:  # a future PyTorch without torch.ao.quantization
        raise RuntimeError("this PyTorch has no torch.ao.quantization.quantize_dynamic; use "
                           "activations='per_token' or run without quantization") from e
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
        return quantize_dynamic(model, {nn.Linear: qconfig}, dtype=torch.qint8)


def weights_megabytes(model: nn.Module) -> float:
    """Size of the model's state dict in MB (packed int8 weights counted as stored)."""
    import io

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes / 1e6


# Inference ---------------------------------------------------------------------------------

@dataclass
class TextPrediction:
    """One text's prediction: the label, its probability and every label's probability."""

    label: str
    score: float
    probabilities: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"label": self.label, "score": self.score, "probabilities": dict(self.probabilities)}


_ACCEPTED = "a non-empty string or a non-empty list of non-empty strings"
MAX_TEXTS = 10_000  # texts per call: the model's work grows with their number
MAX_TEXT_CHARS = 100_000  # characters per text: the tokenizer reads all of a text before truncating it
MAX_TOTAL_CHARS = 10_000_000  # characters per call, all texts together
def check_texts(texts) -> tuple[list[str], bool]:
    """``(texts as a list, whether one string was given)``; ValueError naming what is wrong.

    Unpaired surrogates are dropped (no tokenizer takes them). A text that shows nothing (only white space,
    control or zero-width characters) is empty. At most ``MAX_TEXTS`` texts of at most ``MAX_TEXT_CHARS``
    characters, ``MAX_TOTAL_CHARS`` in all, per call.
    """
    if isinstance(texts, str):
        single, items = True, [texts]
    elif isinstance(texts, (list, tuple)):
        single, items = False, list(texts)
        if not items:
            raise ValueError(f"got an empty list: nothing to classify; pass {_ACCEPTED}")
        if len(items) > MAX_TEXTS:
            raise ValueError(f"got {len(items):,} texts; pass at most {MAX_TEXTS:,} strings per call (split the "
                             "rest into further calls)")
    else:
        raise ValueError(f"got {type(texts).__name__}; pass {_ACCEPTED}")
    cleaned, total = [], 0
    for i, text in enumerate(items):
        where = "the text" if single else f"item {i}"
        if text is None:
            raise ValueError(f"{where} is None; pass {_ACCEPTED}")
        if not isinstance(text, str):
            raise ValueError(f"{where} is a {type(text).__name__}, not a string; pass {_ACCEPTED}")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"{where} has {len(text):,} characters; pass strings of at most {MAX_TEXT_CHARS:,} "
                             "(only the first max_length tokens are read anyway)")
        total += len(text)
        if total > MAX_TOTAL_CHARS:
            raise ValueError(f"the texts have more than {MAX_TOTAL_CHARS:,} characters in all; pass fewer strings "
                             "per call")
        if not text.strip():
            raise ValueError(f"{where} is empty or only white space; pass {_ACCEPTED}")
        text = without_lone_surrogates(text)
        if not shows_something(text):
            raise ValueError(f"{where} is empty: it holds only control, zero-width or unpaired surrogate characters "
                             f"({text[:8]!r}); pass {_ACCEPTED}")
        cleaned.append(text)
    return cleaned, single


@dataclass
class ClassifierSettings:
    """What a text classifier's ``config.json`` must hold besides the model: labels, length, temperature."""

    label_names: list[str]
    max_length: int
    temperature: float

    def __post_init__(self):
        names = self.label_names
        if len(names) < 2 or not all(isinstance(n, str) and n.strip() for n in names) or len(set(names)) < len(names):
            raise ValueError(f"label_names must be two or more distinct non-empty names, got {names!r:.100}")
        if isinstance(self.max_length, bool) or not isinstance(self.max_length, int) or self.max_length < 2:
            raise ValueError(f"max_length must be a whole number >= 2, got {self.max_length!r}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be a finite number > 0, got {self.temperature!r}")


def _check_options(quantize: bool, device, batch_size: int, int8_activations: str) -> None:
    """ValueError for inference options that cannot work together, before anything is loaded."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    if quantize and device is not None and torch.device(device).type != "cpu":
        raise ValueError(f"int8 dynamic quantization runs on the CPU only, not on {device!r}")
    if quantize and int8_activations not in INT8_ACTIVATIONS:
        raise ValueError(f"int8_activations must be one of {INT8_ACTIVATIONS}, got {int8_activations!r}")


# config.json keys that save_artifact or save_text_classifier write themselves
_WRITTEN_ON_SAVE = frozenset({"schema_version", "component", "weights", "files", "created", "versions", "model_class",
                              "label_names", "max_length", "temperature"})


class TextClassifier:
    """A trained text classifier: ``load(dir)``, then ``predict(texts)`` and ``predict_proba(texts)``.

    Texts are truncated to the trained ``max_length`` tokens, batched ``batch_size`` at a time in
    order of length, and scored with the saved temperature (calibrated probabilities). ``check_texts``
    says what a call accepts.
    quantize: int8 linear layers (CPU only; faster, slightly less exact); int8_activations: how their
    inputs are scaled, ``"per_token"`` (default, batch-independent) or ``"per_tensor"`` (see ``quantize_int8``).
    compile: run the model through ``torch.compile`` (dynamic shapes): the first calls compile it (tens of
        seconds, then cached on disk by PyTorch), later calls run fused kernels; with ``quantize`` this fuses
        each token's scaling into the int8 matrix products (benchmarks/bench_day5.py). If compiling fails
        (no C++ compiler, an unsupported platform) the classifier warns once and runs the model as it is.
    """

    COMPONENT = "text-classifier"

    def __init__(self, model, tokenizer, label_names: Sequence[str], *, max_length: int = 128,
                 temperature: float = 1.0, batch_size: int = 32, device=None, quantize: bool = False,
                 int8_activations: str = "per_token", compile: bool = False, config: dict | None = None,
                 metrics: dict | None = None):
        from .env import get_device

        _check_options(quantize, device, batch_size, int8_activations)
        if isinstance(max_length, np.integer):
            max_length = int(max_length)
        checked = ClassifierSettings(list(label_names), max_length, float(temperature))
        self.device = torch.device("cpu") if quantize else get_device(device)
        self.model = quantize_int8(model, activations=int8_activations) if quantize else model.to(self.device).eval()
        self.tokenizer, self.label_names = tokenizer, checked.label_names
        self.max_length, self.temperature, self.batch_size = checked.max_length, checked.temperature, batch_size
        self.quantized = bool(quantize)
        self.int8_activations = int8_activations if quantize else None
        self.config, self.metrics = config or {}, metrics or {}
        self.compiled = bool(compile)
        self._compiled_model = torch.compile(self.model, dynamic=True) if compile else None

    @classmethod
    def load(cls, directory, *, quantize: bool = False, device=None, batch_size: int = 32,
             int8_activations: str = "per_token", compile: bool = False):
        """Open an artifact folder written by ``save`` or ``save_text_classifier`` (safetensors only: a folder
        holding a pickle-based file is refused); ``ArtifactError`` naming the file and field otherwise."""
        from .artifacts import load_component

        _check_options(quantize, device, batch_size, int8_activations)
        options = dict(quantize=quantize, device=device, batch_size=batch_size, int8_activations=int8_activations,
                       compile=compile)
        return load_component(directory, cls.COMPONENT, lambda art: cls._from_artifact(art, **options))

    @classmethod
    def _from_artifact(cls, art, **options):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from .artifacts import CONFIG_FILE, ArtifactError, config_from

        where = art.path / CONFIG_FILE
        fields = {k: art.config[k] for k in ("label_names", "max_length", "temperature") if k in art.config}
        checked = config_from(ClassifierSettings, fields, str(where))
        tokenizer = art.from_pretrained(AutoTokenizer)
        model = art.from_pretrained(AutoModelForSequenceClassification)
        if model.config.num_labels != len(checked.label_names):
            raise ArtifactError(f"the model in {art.pretrained_dir} has {model.config.num_labels} outputs but the "
                                f"field 'label_names' of {where} names {len(checked.label_names)} labels")
        positions = getattr(model.config, "max_position_embeddings", None)
        if isinstance(positions, int) and checked.max_length > positions:
            raise ArtifactError(f"{where}: the field 'max_length' is {checked.max_length}, but the model reads at most "
                                f"{positions} tokens")
        return cls(model, tokenizer, checked.label_names, max_length=checked.max_length,
                   temperature=checked.temperature, config=art.config, metrics=art.metrics, **options)

    def save(self, directory, metrics: dict | None = None, **config) -> Path:
        """Write the classifier as an artifact folder that ``load`` reads back; ``metrics`` default to the
        loaded ones, ``config`` adds to the loaded config. A quantized classifier is not saved: save the
        full-precision one and load it with ``quantize=True``."""
        if self.quantized:
            raise ValueError("a quantized classifier is not saved: save the full-precision one and load it "
                             "with quantize=True")
        clashing = sorted(set(config) & _WRITTEN_ON_SAVE)
        if clashing:
            raise ValueError(f"save() sets {', '.join(clashing)} itself (from the classifier); leave them out")
        kept = {k: v for k, v in self.config.items() if k not in _WRITTEN_ON_SAVE}
        return save_text_classifier(directory, self.model, self.tokenizer, label_names=self.label_names,
                                    max_length=self.max_length, temperature=self.temperature,
                                    metrics=self.metrics if metrics is None else metrics, component=self.COMPONENT,
                                    **{**kept, **config})

    def predict_proba(self, texts) -> np.ndarray:
        """Probabilities ``(n, n_labels)`` for a string or a list of strings, in input order."""
        items, _ = check_texts(texts)
        return self._proba(items)

    def _proba(self, items: list[str]) -> np.ndarray:
        return softmax_with_temperature(self._logits(items), self.temperature)

    def _logits(self, items: list[str]) -> np.ndarray:
        options = dict(max_length=self.max_length, batch_size=self.batch_size, device=self.device)
        if self._compiled_model is not None:
            try:
                return predict_logits(self._compiled_model, self.tokenizer, items, **options)
            except Exception as e:  # torch.compile's failures surface at the first call, from deep inside
                warnings.warn(f"torch.compile could not compile the model ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}); running it uncompiled", stacklevel=3)
                self._compiled_model, self.compiled = None, False
        return predict_logits(self.model, self.tokenizer, items, **options)

    def predict(self, texts):
        """A ``TextPrediction`` for one string; a list of them for a list of strings.

        Raises ValueError for None, a non-string, an empty string (or one showing nothing), an empty list,
        or more than a call takes (see ``check_texts``).
        """
        items, single = check_texts(texts)
        out = [TextPrediction(label=self.label_names[int(row.argmax())], score=float(row.max()),
                              probabilities={name: float(p) for name, p in zip(self.label_names, row)})
               for row in self._proba(items)]
        return out[0] if single else out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(labels={self.label_names}, max_length={self.max_length}, "
                f"temperature={self.temperature:.3f}, quantized={self.quantized}"
                + (f" ({self.int8_activations})" if self.quantized else "")
                + (", compiled" if self.compiled else "") + f", device={self.device})")


class SentimentClassifier(TextClassifier):
    """The Day 5 component: SST-2 sentiment (negative / positive). ``SentimentClassifier.load(dir)``."""

    COMPONENT = COMPONENT


def save_text_classifier(directory, model, tokenizer, *, label_names: Sequence[str], max_length: int,
                         temperature: float = 1.0, metrics: dict | None = None, component: str = COMPONENT,
                         **config) -> Path:
    """Write the artifact: ``model/`` (weights as safetensors + tokenizer), config.json, metrics.json.

    config: anything else worth keeping (base model, profile, data, training sizes); JSON-able.
    """
    from .artifacts import save_artifact

    model_cpu = copy.deepcopy(model).to("cpu")
    full = {"model_class": "AutoModelForSequenceClassification", "label_names": list(label_names),
            "max_length": int(max_length), "temperature": float(temperature), **config}
    return save_artifact(directory, component=component, config=full, metrics=metrics,
                         pretrained=[model_cpu, tokenizer])
