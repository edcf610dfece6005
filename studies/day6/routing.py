"""Day 6 routing study: keywords alone, Day 3's classifier alone and the combined rule, message by message.

    python studies/day6/routing.py [--artifacts ROOT]

Reads the held-out labelled messages (``Day3_Chatbot/data/routing_set.csv``), the set the Day 3 and Day 6
notebooks judge the chat on, loads Day 3's assistant from ROOT (default: ``$APPLIED_MLX_ARTIFACTS``, else the
day folders), and
prints a markdown table: what each router says, the classifier's confidence, and whether the app's rule
followed the classifier or a keyword cue; then each router's accuracy and who decided how often.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from applied_mlx import app


def routing_set() -> list[tuple[str, str]]:
    """The held-out routing set the Day 3 and Day 6 notebooks judge the chat on: (message, expected route)."""
    from applied_mlx.assistant import load_routing_set

    return load_routing_set(Path(__file__).resolve().parents[2] / "Day3_Chatbot" / "data" / "routing_set.csv")


def decided_by(reason: str) -> str:
    """Who chose the route, from the rule's own explanation."""
    return "keyword cue" if ("decides" in reason or "names a skill" in reason) else "classifier"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default=None, help="a folder holding Day3_Chatbot/ (and the others)")
    args = parser.parse_args(argv)
    components = app.load_components(args.artifacts, keys=["assistant"])
    assistant = components.get("assistant")
    pairs = routing_set()
    classified = assistant.classify([m for m, _ in pairs])
    columns = ["message", "expected", "keywords only", "classifier only", "confidence", "combined (app)",
               "decided by"]
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    right = dict.fromkeys(columns[2:4] + columns[5:6], 0)
    who: dict[str, list[int]] = {}
    for (message, expected), c in zip(pairs, classified):
        cue = app.keyword_cue(message)
        alone = app.decide_route(c["intent"], c["confidence"], c["unsure"], None).skill
        combined = app.decide_route(c["intent"], c["confidence"], c["unsure"], cue)
        row = [message, expected, cue[0] if cue else "(none)", alone, f"{c['confidence']:.2f}", combined.skill,
               decided_by(combined.reason)]
        print("| " + " | ".join(row) + " |")
        for name, said in zip(right, (row[2], alone, combined.skill)):
            right[name] += said == expected
        who.setdefault(row[-1], [0, 0])[0] += 1
        who[row[-1]][1] += combined.skill == expected
    print()
    for name, n in right.items():
        print(f"{name}: {n}/{len(pairs)} = {n / len(pairs):.0%}")
    for name, (n, ok) in who.items():
        print(f"decided by the {name}: {n} messages, {ok} of them right")


if __name__ == "__main__":
    main()
