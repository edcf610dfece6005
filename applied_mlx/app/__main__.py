"""Serve the Day 6 app on 127.0.0.1.

    python -m applied_mlx.app [--port N] [--no-browser] [--artifacts ROOT] [--train PROFILE]

Serves at once whatever components are saved (loading them in the background while the page opens), prints
their status and the local URL. With ``--train quick`` (what ``make demo`` passes) it also starts one background
build of the missing components, fastest first (``python -m applied_mlx.build``), unless one is running already;
each component appears in the app the moment it is saved, and the Status tab shows the progress.
A missing or damaged component is reported in the status and its tabs; the others serve.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading


def has_display() -> bool:
    """True where a browser tab can be opened: macOS, Windows, or a Linux session with a display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv=None) -> int:
    """Parse the arguments, start the background build if asked, load the components, serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m applied_mlx.app", description="Serve the Day 6 app on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
                        help="TCP port (default $GRADIO_SERVER_PORT or 7860; 0: the first free one from 7860)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    parser.add_argument("--artifacts", default=None,
                        help="a folder holding Day1_Recommendation/ ... Day5_Sentiment/ (default: "
                             "$APPLIED_MLX_ARTIFACTS, else the day folders)")
    parser.add_argument("--train", metavar="PROFILE", default=None, choices=("smoke", "quick", "full"),
                        help="train the missing components in the background in this profile (smoke: untrained "
                             "stand-ins in seconds; quick: real data, minutes each on a CPU)")
    parser.add_argument("--log-dir", default=None, help="where the background build logs (default runs/<time>/)")
    args = parser.parse_args(argv)
    from . import Components, build_demo, launch

    if args.train:
        from .training import start_build

        start_build(args.artifacts, args.train, args.log_dir)
    components = Components(args.artifacts)  # found (config and metrics read), not loaded yet: fast
    print(components.report(), flush=True)
    demo = build_demo(components)
    launch(demo, port=args.port or None, block=False, browser=not args.no_browser and has_display())
    # load them while the page opens, so that the first question does not wait for a model to load
    threading.Thread(target=components.load_all, name="load-components", daemon=True).start()
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
