"""Serve the Day 6 app on 127.0.0.1: ``python -m applied_mlx.app [--port N] [--no-browser] [--artifacts ROOT]``.

Loads every component it finds first (the first visitor does not wait), prints their status and the local URL.
A missing or damaged component is reported in the status and its tabs; the others serve.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv=None) -> int:
    """Parse the arguments, load the components, serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m applied_mlx.app", description="Serve the Day 6 app on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
                        help="TCP port (default $GRADIO_SERVER_PORT or 7860; 0: the first free one from 7860)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    parser.add_argument("--artifacts", default=None,
                        help="a folder holding Day1_Recommendation/ ... Day5_Sentiment/ (default: "
                             "$APPLIED_MLX_ARTIFACTS, else the day folders)")
    args = parser.parse_args(argv)
    from . import build_demo, launch, load_components

    components = load_components(args.artifacts)
    print(components.report(), flush=True)
    launch(build_demo(components), port=args.port or None, browser=not args.no_browser)
    return 0


if __name__ == "__main__":
    sys.exit(main())
