"""Execute the day notebooks in order (Days 1-5, then Day 6), each in its own folder.

    python tools/run_notebooks.py                  # every Day*/*.ipynb into runs/<time>/
    python tools/run_notebooks.py --inplace Day1*/*.ipynb   # refresh the committed outputs
    python tools/run_notebooks.py --app            # then start the Day 6 app (make demo)

The profile comes from APPLIED_MLX_PROFILE (default: full with CUDA, quick without).
"""

from __future__ import annotations

import argparse
import os
import datetime as dt
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def day_notebooks() -> list[Path]:
    """Every Day*/*.ipynb under the repository, by day number."""
    found = ROOT.glob("Day*/*.ipynb")
    return sorted(found, key=lambda p: (int(re.match(r"Day(\d+)", p.parent.name).group(1)), p.name))


def execute(notebook: Path, output: Path, timeout: int) -> float:
    """Run ``notebook`` in its own folder, write the executed copy to ``output``; return seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    # the widgets' saved state (progress bars) is megabytes that GitHub cannot render anyway;
    # each widget output keeps its text/plain form
    nb.metadata.pop("widgets", None)
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, output)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every Day*/*.ipynb")
    parser.add_argument("--inplace", action="store_true", help="overwrite the notebooks with their outputs")
    parser.add_argument("--out", type=Path, default=None, help="folder for executed copies (default runs/<time>)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    parser.add_argument("--app", action="store_true", help="start the Day 6 app afterwards, if it exists")
    args = parser.parse_args(argv)

    notebooks = [p.resolve() for p in args.notebooks] or day_notebooks()
    out = args.out or ROOT / "runs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    if not notebooks:
        print("No day notebooks yet (Day*/*.ipynb).")
    for nb in notebooks:
        target = nb if args.inplace else out / nb.parent.name / nb.name
        print(f"running {nb.relative_to(ROOT)} ...", flush=True)
        seconds = execute(nb, target, args.timeout)
        print(f"  done in {seconds:.0f} s -> {os.path.relpath(target, ROOT)}", flush=True)
    if args.app:
        if (ROOT / "applied_mlx" / "app.py").exists():
            return subprocess.call([sys.executable, "-m", "applied_mlx.app"], cwd=ROOT)
        print("The Day 6 app (applied_mlx/app.py) is not built yet.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
