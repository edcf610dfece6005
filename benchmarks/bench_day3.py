"""Day 3 benchmark: per-question latency of retrieval + extractive QA, and of intent classification.

    python benchmarks/bench_day3.py [artifact_dir]

With an artifact folder (the notebook's Day3_Chatbot/artifacts) it times that assistant; without one it
builds an assistant from the stand-in encoder resolved by ``resolve_model`` (the mirror, else the hub),
with untrained heads: latency does not depend on the head's weights. Speeds are machine-dependent;
on the shared 2-core development CPU they are noisy.
"""

from __future__ import annotations

import sys

import torch

from applied_mlx import assistant as A
from applied_mlx.env import median_seconds


def median_ms(fn, repeats: int = 7) -> float:
    """Median wall time of ``fn()`` in milliseconds after one warm-up call."""
    return 1000 * median_seconds(fn, repeats)


def stand_in_assistant() -> A.Assistant:
    from transformers import AutoTokenizer

    from applied_mlx.data import resolve_model

    source = resolve_model(A.STAND_IN_MODEL)
    tok = AutoTokenizer.from_pretrained(source)
    intent = A.new_intent_classifier(source, A.SKILLS, pooling=A.settings("quick")["intent_pooling"])
    return A.Assistant(intent, tok, A.new_qa_model(source), tok, A.KNOWLEDGE_BASE, qa_max_length=384, stride=128,
                       device="cpu")


def main() -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    assistant = A.Assistant.load(sys.argv[1], device="cpu") if len(sys.argv) > 1 else stand_in_assistant()
    print(f"threads={torch.get_num_threads()} qa_max_length={assistant.qa_max_length} top_k={assistant.top_k}")
    q = "how many variables does the transformer temperature data have"
    print(f"retrieval only (TF-IDF, {len(assistant.knowledge_base)} passages): "
          f"{median_ms(lambda: assistant.retriever.search(q, assistant.top_k)):.2f} ms")
    print(f"retrieval + QA over top-{assistant.top_k} passages: "
          f"{median_ms(lambda: assistant.answer(q)):.1f} ms per question")
    context = A.KNOWLEDGE_BASE[4]["text"]
    print(f"QA on one given short context: "
          f"{median_ms(lambda: assistant.answer(q, context=context)):.1f} ms per question")
    long_context = " ".join(p["text"] for p in A.KNOWLEDGE_BASE) * 4
    print(f"QA on a {len(long_context.split())}-word context (strided windows): "
          f"{median_ms(lambda: assistant.answer(q, context=long_context), 3):.1f} ms per question")
    one_intent = median_ms(lambda: assistant.classify(["recommend me a movie"]))
    print(f"intent classification, one message: {one_intent:.1f} ms")
    print(f"full reply to a question: {median_ms(lambda: assistant.reply(q)):.1f} ms")


if __name__ == "__main__":
    main()
